#include "config/settings_table.hpp"

#include <fmt/format.h>

#include <cctype>

#include "config/repeatable_settings.hpp"
#include "config/value_parsers.hpp"

namespace lg::config {

std::string Setting::env() const {
  std::string e = "LETTAGATE_";
  for (char c : name) e += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return e;
}

std::string Setting::label() const { return fmt::format("--{} ({})", name, env()); }

Setting& SettingsTable::add(std::string name, std::string def, std::string help, Kind kind, Apply apply) {
  rows.push_back({std::move(name), std::move(def), std::move(help), group, kind, std::move(apply)});
  return rows.back();
}

void SettingsTable::secret(bool whole) {
  rows.back().secret = true;
  rows.back().whole_secret = whole;
}

void SettingsTable::file_of_last() {
  const std::string of = rows.back().name;
  add(of + "-file", "", fmt::format("file holding --{} (a Docker or Kubernetes secret; one trailing newline dropped)", of),
      Kind::Value, [](ParseState&, const std::string&) { return std::optional<std::string>(); });
}

Apply duration_to(std::function<core::Millis&(ParseState&)> field, core::Millis min) {
  return [field, min](ParseState& c, const std::string& v) -> std::optional<std::string> {
    std::string why;
    auto d = core::parse_duration(v, &why);
    if (!d) return fmt::format("'{}' is not a duration: {}", v, why);
    if (*d < min) return fmt::format("'{}' is below the minimum {}", v, core::format_duration(min));
    field(c) = *d;
    return std::nullopt;
  };
}

Apply int_to(std::function<int&(ParseState&)> field, long lo, long hi) {
  return [field, lo, hi](ParseState& c, const std::string& v) -> std::optional<std::string> {
    auto n = parse_int(v, lo, hi);
    if (!n) return fmt::format("'{}' is not a whole number from {} to {}", v, lo, hi);
    field(c) = static_cast<int>(*n);
    return std::nullopt;
  };
}

Apply bool_to(std::function<bool&(ParseState&)> field) {
  return [field](ParseState& c, const std::string& v) -> std::optional<std::string> {
    auto b = parse_bool(v);
    if (!b) return fmt::format("'{}' is not a boolean (true/false)", v);
    field(c) = *b;
    return std::nullopt;
  };
}

Apply string_to(std::function<std::string&(ParseState&)> field) {
  return [field](ParseState& c, const std::string& v) -> std::optional<std::string> {
    field(c) = v;
    return std::nullopt;
  };
}

namespace {

void add_server_settings(SettingsTable& t) {
  t.group = "Server";
  t.add("listen", "0.0.0.0:8080", "health and metrics IP address and port (/livez /readyz /status /metrics)", Kind::Value,
        [](ParseState& c, const std::string& v) -> std::optional<std::string> {
          std::string why;
          auto hp = core::parse_host_port(v, &why);
          if (!hp) return fmt::format("'{}': {}", v, why);
          if (auto err = require_ip(*hp, "the health server")) return err;
          c.cfg.server.listen = *hp;
          return std::nullopt;
        });
  t.add("max-connections", "512", "health server connection cap", Kind::Value,
        int_to([](ParseState& c) -> int& { return c.cfg.server.max_connections; }, 1, 100000));
  t.add("header-timeout", "5s", "a request's headers must arrive within this (slow clients are cut)", Kind::Value,
        duration_to([](ParseState& c) -> core::Millis& { return c.cfg.server.header_timeout; }, core::Millis{1}));
  t.add("keepalive-timeout", "60s", "idle keep-alive connections are closed after this", Kind::Value,
        duration_to([](ParseState& c) -> core::Millis& { return c.cfg.server.keepalive_timeout; }, core::Millis{1}));
  t.add("max-header-bytes", "8192", "request header size limit (431 above it)", Kind::Value,
        [](ParseState& c, const std::string& v) -> std::optional<std::string> {
          auto n = parse_int(v, 256, 1 << 20);
          if (!n) return fmt::format("'{}' is not a number of bytes from 256 to 1048576", v);
          c.cfg.server.max_header_bytes = static_cast<size_t>(*n);
          return std::nullopt;
        });
  t.add("drain-timeout", "10s", "on SIGTERM, how long in-flight work may finish", Kind::Value,
        duration_to([](ParseState& c) -> core::Millis& { return c.cfg.drain_timeout; }));
}

// --NAME-interval ... --NAME-required for every component, and tcp-check-* for every
// --tcp-check probe at once: kept as given, applied over the probe-* defaults (schedules.cpp).
void add_schedule_overrides(SettingsTable& t, const std::string& who_name) {
  const std::string who = who_name == "tcp-check" ? "every --tcp-check probe" : who_name;
  for (const std::string knob : {"interval", "timeout", "jitter", "rise", "fall", "grace", "required"}) {
    const std::string name = who_name + "-" + knob;
    const bool required = knob == "required";
    const std::string help = required ? "false: " + who + " down only degrades the gate (still ready)"
                                      : "override --" + (knob == "grace" ? "startup-grace" : "probe-" + knob) + " for " + who;
    t.add(name, required ? "true" : "", help, required ? Kind::Bool : Kind::Value,
          [name](ParseState& c, const std::string& v) -> std::optional<std::string> {
            if (!v.empty()) c.overrides[name] = v;
            return std::nullopt;
          });
  }
}

void add_probing_settings(SettingsTable& t) {
  t.group = "Probing";
  t.add("tcp-check", "", "extra TCP connect probes NAME=HOST:PORT (repeatable / comma-separated; off as for --forward)",
        Kind::List, apply_tcp_checks);
  t.add("probe-interval", "5s", "time between probes of a component", Kind::Value,
        duration_to([](ParseState& c) -> core::Millis& { return c.defaults.interval; }, core::Millis{10}));
  t.add("probe-down-interval", "250ms",
        "while a component is not up (down, or not probed yet), time between its probes, so it is seen back "
        "within about this (at most --probe-interval; 0: --probe-interval)",
        Kind::Value, duration_to([](ParseState& c) -> core::Millis& { return c.defaults.down_interval; }));
  t.add("probe-timeout", "2s", "a probe is cut and failed after this (at most the interval unless set)", Kind::Value,
        duration_to([](ParseState& c) -> core::Millis& { return c.defaults.timeout; }, core::Millis{1}));
  t.add("probe-jitter", "10", "spread of each interval, percent", Kind::Value,
        [](ParseState& c, const std::string& v) { return parse_jitter(v, c.defaults.jitter); });
  t.add("probe-rise", "2", "consecutive successes before a component is up", Kind::Value,
        int_to([](ParseState& c) -> int& { return c.defaults.rise; }, 1, 100));
  t.add("probe-fall", "3", "consecutive failures before a component is down", Kind::Value,
        int_to([](ParseState& c) -> int& { return c.defaults.fall; }, 1, 100));
  t.add("startup-grace", "0", "after start, failures leave a component unknown rather than down", Kind::Value,
        duration_to([](ParseState& c) -> core::Millis& { return c.defaults.grace; }));
  for_each_component([&](const auto& spec) { add_schedule_overrides(t, std::string(spec.name)); });
  add_schedule_overrides(t, "tcp-check");
}

void add_forwarder_settings(SettingsTable& t) {
  t.group = "Forwarder";
  t.add("forward", "0.0.0.0:8283=letta-server:8283",
        "LISTEN=UPSTREAM TCP routes, LISTEN an IP address, @COMPONENT to follow another component (repeatable; "
        "off: none, or drops the routes given before it)",
        Kind::List, apply_forward);
  t.add("forward-health", "letta", "component the routes follow unless a route names its own (off: none)", Kind::Value,
        [](ParseState& c, const std::string& v) -> std::optional<std::string> {
          c.cfg.forward.health_component = is_off(v) ? "" : v;
          return is_off(v) ? std::nullopt : check_component_name(c, v);
        });
  t.add("forward-health-mode", "hold", "while that component is down: hold (wait up to forward-hold), reject, or ignore",
        Kind::Value, [](ParseState& c, const std::string& v) -> std::optional<std::string> {
          if (v == "hold") c.cfg.forward.health_mode = ForwardHealthMode::Hold;
          else if (v == "reject") c.cfg.forward.health_mode = ForwardHealthMode::Reject;
          else if (v == "ignore") c.cfg.forward.health_mode = ForwardHealthMode::Ignore;
          else return fmt::format("'{}' is not one of hold, reject, ignore", v);
          return std::nullopt;
        });
  t.add("forward-hold", "10s",
        "how long a new connection may wait: for the component (hold mode), and for its upstream connect, "
        "retried with back-off while it fails (hold and ignore modes)",
        Kind::Value, duration_to([](ParseState& c) -> core::Millis& { return c.cfg.forward.hold_timeout; }));
  t.add("forward-connect-timeout", "5s", "upstream connect timeout", Kind::Value,
        duration_to([](ParseState& c) -> core::Millis& { return c.cfg.forward.connect_timeout; }, core::Millis{1}));
  t.add("forward-idle-timeout", "0", "close connections idle this long (0: never; SSE lives for hours)", Kind::Value,
        duration_to([](ParseState& c) -> core::Millis& { return c.cfg.forward.idle_timeout; }));
  t.add("forward-max-connections", "4096", "connection cap per route", Kind::Value,
        int_to([](ParseState& c) -> int& { return c.cfg.forward.max_connections; }, 1, 1000000));
  t.add("forward-dns-ttl", "5s", "reuse a resolved upstream address this long (0: resolve every time)", Kind::Value,
        duration_to([](ParseState& c) -> core::Millis& { return c.cfg.forward.dns_ttl; }));
}

void add_logging_settings(SettingsTable& t) {
  t.group = "Logging";
  t.add("log-level", "info", "trace, debug, info, warn, error", Kind::Value,
        [](ParseState& c, const std::string& v) -> std::optional<std::string> {
          static const char* kLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
          for (auto* l : kLevels)
            if (v == l) {
              c.cfg.log_level = v;
              return std::nullopt;
            }
          return fmt::format("'{}' is not one of trace, debug, info, warn, error", v);
        });
  t.add("log-format", "text", "text or json (one JSON object a line)", Kind::Value,
        [](ParseState& c, const std::string& v) -> std::optional<std::string> {
          if (v != "text" && v != "json") return fmt::format("'{}' is not text or json", v);
          c.cfg.log_format = v;
          return std::nullopt;
        });
}

// The order of the rows is that of --help and of applying them: the forwarder's rows come after
// the tcp checks they may refer to.
std::vector<Setting> build_table() {
  SettingsTable t;
  add_server_settings(t);
  for_each_component([&](const auto& spec) {
    t.group = std::string(spec.title);
    spec.add_settings(t);
  });
  add_probing_settings(t);
  add_forwarder_settings(t);
  add_logging_settings(t);
  return std::move(t.rows);
}

}  // namespace

const std::vector<Setting>& table() {
  static const std::vector<Setting> t = build_table();
  return t;
}

const Setting* find_setting(const std::string& name) {
  for (const auto& s : table())
    if (s.name == name) return &s;
  return nullptr;
}

}  // namespace lg::config
