#include "config/schedules.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "config/value_parsers.hpp"

namespace lg::config {
namespace {

// One --NAME-KNOB value over `s`; an error message otherwise.
std::optional<std::string> apply_override(ProbeSchedule& s, const std::string& knob, const std::string& value) {
  ParseState tmp;
  tmp.defaults = s;
  std::optional<std::string> err;
  if (knob == "interval")
    err = duration_to([](ParseState& x) -> core::Millis& { return x.defaults.interval; }, core::Millis{10})(tmp, value);
  else if (knob == "timeout")
    err = duration_to([](ParseState& x) -> core::Millis& { return x.defaults.timeout; }, core::Millis{1})(tmp, value);
  else if (knob == "jitter") err = parse_jitter(value, tmp.defaults.jitter);
  else if (knob == "rise") err = int_to([](ParseState& x) -> int& { return x.defaults.rise; }, 1, 100)(tmp, value);
  else if (knob == "fall") err = int_to([](ParseState& x) -> int& { return x.defaults.fall; }, 1, 100)(tmp, value);
  else if (knob == "grace")
    err = duration_to([](ParseState& x) -> core::Millis& { return x.defaults.grace; })(tmp, value);
  else if (knob == "required") err = bool_to([](ParseState& x) -> bool& { return x.defaults.required; })(tmp, value);
  if (!err) s = tmp.defaults;
  return err;
}

// The probe-* defaults with the --GROUP-* settings over them. A short interval with the default
// timeout (--probe-interval 1s): the timeout follows the interval rather than making the probe
// overlap itself. A timeout given too long stays an error (check_overlap).
std::optional<ConfigError> schedule_of(const ParseState& c, const std::string& group, ProbeSchedule& out) {
  ProbeSchedule s = c.defaults;
  for (const auto& [name, value] : c.overrides) {
    if (name.rfind(group + "-", 0) != 0) continue;
    if (auto err = apply_override(s, name.substr(group.size() + 1), value)) return ConfigError{find_setting(name)->label(), *err};
  }
  if (!c.cfg.given.count("probe-timeout") && !c.overrides.count(group + "-timeout")) s.timeout = std::min(s.timeout, s.interval);
  out = s;
  return std::nullopt;
}

// The error names what the user gave: the timeout setting when one was given (the component's
// own or --probe-timeout), else the interval that is too short for a derived timeout (the SSE
// check's).
std::optional<ConfigError> check_overlap(const ParseState& c, const std::string& group, const ProbeSchedule& s,
                                         std::string_view derived_timeout) {
  if (s.timeout <= s.interval) return std::nullopt;
  const std::string timeout = c.overrides.count(group + "-timeout") ? group + "-timeout" : "probe-timeout";
  const std::string interval = c.overrides.count(group + "-interval") ? group + "-interval" : "probe-interval";
  const bool timeout_given = c.overrides.count(group + "-timeout") || c.cfg.given.count("probe-timeout");
  if (timeout_given)
    return ConfigError{
        find_setting(timeout)->label(),
        fmt::format("timeout {} is longer than the {} interval {}{}: a probe would overlap itself",
                    core::format_duration(s.timeout), group, core::format_duration(s.interval),
                    c.cfg.given.count(interval) || c.overrides.count(interval) ? " (--" + interval + ")" : "")};
  return ConfigError{find_setting(interval)->label(),
                     fmt::format("interval {} is shorter than the {} timeout {}{}: a probe would overlap itself",
                                 core::format_duration(s.interval), group, core::format_duration(s.timeout),
                                 derived_timeout.empty() ? "" : fmt::format(" ({})", derived_timeout))};
}

}  // namespace

std::optional<ConfigError> finish_schedules(ParseState& c) {
  std::optional<ConfigError> error;
  for_each_component([&](const auto& spec) {
    const std::string name(spec.name);
    auto& settings = c.cfg.*spec.settings;
    if (!error) error = schedule_of(c, name, settings.schedule);
    if (!error && spec.fit_schedule)
      spec.fit_schedule(settings, ScheduleGiven{c.overrides.count(name + "-timeout") > 0, c.overrides.count(name + "-interval") > 0});
  });
  if (error) return error;
  ProbeSchedule tcp_checks;
  if (auto err = schedule_of(c, "tcp-check", tcp_checks)) return err;
  for (auto& t : c.cfg.tcp_checks) t.schedule = tcp_checks;
  return std::nullopt;
}

// Components that are off are not probed, so their schedules do not matter.
std::optional<ConfigError> cross_checks(const ParseState& c) {
  std::optional<ConfigError> error;
  for_each_component([&](const auto& spec) {
    const auto& settings = c.cfg.*spec.settings;
    if (!error && settings.enabled) error = check_overlap(c, std::string(spec.name), settings.schedule, spec.derived_timeout);
  });
  if (!error && !c.cfg.tcp_checks.empty()) error = check_overlap(c, "tcp-check", c.cfg.tcp_checks.front().schedule, {});
  for_each_component([&](const auto& spec) {
    if (!error && spec.check) error = spec.check(c.cfg.*spec.settings);
  });
  return error;
}

}  // namespace lg::config
