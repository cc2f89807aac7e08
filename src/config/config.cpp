// parse_config: flags over LETTAGATE_* variables over defaults, read as raw text against the
// settings table (settings_table.cpp, components.cpp), *_FILE secrets resolved, every row
// applied, then the schedules and the checks across settings (schedules.cpp).
#include "config/config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

#include "config/nearest_name.hpp"
#include "config/redact.hpp"
#include "config/schedules.hpp"
#include "config/secret_file.hpp"
#include "config/settings_table.hpp"

extern char** environ;

namespace lg::config {
namespace {

// Where a raw value came from; a higher source wins.
enum class Source { Default, Env, Flag };
struct Raw {
  std::string value;
  Source source = Source::Default;
};
std::vector<std::string> process_env_names() {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    const std::string_view kv(*e);
    out.emplace_back(kv.substr(0, kv.find('=')));
  }
  return out;
}

// A LETTAGATE_* variable that is no setting is a typo (LETTAGATE_LETTA_URLL) whose setting
// silently keeps its default: refused, with the nearest name. The compose files' own variables
// (image tag, revision, published port) are read by docker-compose and the Makefile, not here.
std::optional<ConfigError> check_env_names(const std::vector<std::string>& names) {
  static const std::set<std::string> kNotSettings{"LETTAGATE_TAG", "LETTAGATE_REVISION", "LETTAGATE_PORT"};
  const std::string prefix = "LETTAGATE_";
  std::vector<std::string> known;
  for (const auto& s : table()) known.push_back(s.env().substr(prefix.size()));
  for (const auto& n : names) {
    if (n.rfind(prefix, 0) != 0 || kNotSettings.count(n)) continue;
    if (std::find(known.begin(), known.end(), n.substr(prefix.size())) != known.end()) continue;
    const std::string near = nearest_name(n.substr(prefix.size()), known);
    return ConfigError{"environment variable " + n,
                       near.empty() ? "not a setting (see lettagate help)"
                                    : fmt::format("not a setting; did you mean {}{}?", prefix, near)};
  }
  return std::nullopt;
}

// X and X_FILE (and --x and --x-file) name the same value: one of each pair may be set. The
// file wins over X from a lower source (a variable's file over the default, a flag's file over
// the variable) and over an empty X, as in the postgres image; its content becomes X's value,
// and `files` remembers the path (errors about the value name the file).
std::optional<ConfigError> resolve_secret_files(std::map<std::string, Raw>& values, EnvLookup env,
                                                std::map<std::string, std::string>& files) {
  for (const auto& s : table()) {
    const Setting* f = find_setting(s.name + "-file");
    if (!f) continue;
    const char* ex = env(s.env().c_str());
    const char* ef = env(f->env().c_str());
    if (ex && *ex && ef && *ef)
      return ConfigError{s.env() + " and " + f->env(), "both are set: set one (the _FILE variable names a file holding the value)"};
    Raw& x = values[s.name];
    const Raw& file = values[f->name];
    if (x.source == Source::Flag && file.source == Source::Flag && !x.value.empty() && !file.value.empty())
      return ConfigError{"--" + s.name + " and --" + f->name, "both are given: give one"};
    if (file.value.empty() || file.source < x.source) continue;
    std::string why;
    auto content = read_secret_file(file.value, &why);
    if (!content) return ConfigError{f->label(), why};
    x = Raw{std::move(*content), file.source};
    files[s.name] = file.value;
  }
  return std::nullopt;
}

std::optional<ConfigError> unknown_flag(const std::string& name) {
  std::vector<std::string> known;
  for (const auto& s : table()) known.push_back(s.name);
  const std::string near = nearest_name(name, known);
  return ConfigError{"--" + name, near.empty() ? "unknown setting (see --help)"
                                               : fmt::format("unknown setting; did you mean --{}? (see --help)", near)};
}

// Flags over the environment over the defaults, as raw text. Returns an error, or sets `help`.
std::optional<ConfigError> collect(const std::vector<std::string>& args, EnvLookup env, std::map<std::string, Raw>& values,
                                   bool& help) {
  std::map<std::string, std::vector<std::string>> flag_lists;
  for (const auto& s : table()) {
    values[s.name] = Raw{s.def, Source::Default};
    if (const char* e = env(s.env().c_str())) values[s.name] = Raw{e, Source::Env};
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      help = true;
      return std::nullopt;
    }
    if (a.rfind("--", 0) != 0) {
      // A bare connection URL given by mistake may carry a password: redact it.
      return ConfigError{"argument", redact_message(fmt::format("unexpected argument '{}' (see --help)", a), a,
                                                    RedactOptions{false, true, {}})};
    }
    auto eq = a.find('=');
    std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    const Setting* s = find_setting(name);
    if (!s) return unknown_flag(name);
    std::string value;
    if (eq != std::string::npos) {
      value = a.substr(eq + 1);
    } else if (s->kind == Kind::Bool) {
      value = "true";
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return ConfigError{s->label(), "needs a value"};
    }
    if (s->kind == Kind::List) flag_lists[name].push_back(value.empty() ? "off" : value);
    else values[name] = Raw{value, Source::Flag};
  }
  for (auto& [name, list] : flag_lists) {
    std::string joined;
    for (const auto& v : list) joined += (joined.empty() ? "" : ",") + v;
    values[name] = Raw{joined, Source::Flag};
  }
  return std::nullopt;
}

// Applies every raw value, in table order. An error message is redacted once for every
// setting (setting_error): it may quote the value.
std::optional<ConfigError> apply_all(ParseState& state, const std::map<std::string, Raw>& values) {
  for (const auto& s : table()) {
    const Raw& raw = values.at(s.name);
    if (raw.source != Source::Default) state.cfg.given.insert(s.name);
    if (auto err = s.apply(state, raw.value)) return setting_error(state.cfg, s.name, *err, raw.value);
  }
  return std::nullopt;
}

}  // namespace

ParseResult parse_config(const std::vector<std::string>& args, EnvLookup env, EnvNames env_names) {
  const bool process_env = env == nullptr;
  if (!env) env = [](const char* n) -> const char* { return std::getenv(n); };
  ParseResult result;
  std::map<std::string, Raw> values;
  ParseState state;
  if (auto err = collect(args, env, values, result.help)) result.error = err;
  if (result.help || result.error) return result;
  if (process_env || env_names) {
    if (auto err = check_env_names(env_names ? env_names() : process_env_names())) result.error = err;
  }
  if (!result.error) result.error = resolve_secret_files(values, env, state.cfg.secret_files);
  if (!result.error) result.error = apply_all(state, values);
  if (!result.error) result.error = finish_schedules(state);
  if (!result.error) result.error = cross_checks(state);
  if (!result.error) result.config = std::move(state.cfg);
  return result;
}

ConfigError setting_error(const Config& c, const std::string& setting, const std::string& message,
                          const std::string& value) {
  const Setting* s = find_setting(setting);
  const std::string msg = redact_message(message, value, RedactOptions{s && s->whole_secret, true, {}});
  if (auto f = c.secret_files.find(setting); f != c.secret_files.end())
    return ConfigError{find_setting(setting + "-file")->label(), fmt::format("in '{}': {}", f->second, msg)};
  return ConfigError{s ? s->label() : "--" + setting, msg};
}

std::string config_help() {
  std::string out;
  std::string group;
  for (const auto& s : table()) {
    if (s.group != group) {
      group = s.group;
      out += fmt::format("\n{}:\n", group);
    }
    std::string def = s.secret ? redact_dsn(s.def) : s.def;
    out += fmt::format("  --{:<26} {:<34} {}{}\n", s.name, s.env(), s.help,
                       def.empty() ? "" : fmt::format(" [default: {}]", def));
  }
  out += "\nAn empty value or `off` disables a component or the forwarder. Durations: 250ms, 2s, 1m.\n";
  return out;
}

std::string describe_config(const Config& c) {
  std::string out = fmt::format("listen={}", c.server.listen.str());
  for_each_component([&](const auto& spec) {
    const auto& settings = c.*spec.settings;
    out += fmt::format(" {}={}", spec.name, settings.enabled ? spec.describe(settings) : "off");
  });
  std::string routes;
  for (const auto& r : c.forward.routes) routes += (routes.empty() ? "" : ",") + r.name;
  out += fmt::format(" forward={}", routes.empty() ? "off" : routes);
  return out;
}

const char* health_mode_name(ForwardHealthMode mode) {
  switch (mode) {
    case ForwardHealthMode::Hold:
      return "hold";
    case ForwardHealthMode::Reject:
      return "reject";
    case ForwardHealthMode::Ignore:
      return "ignore";
  }
  return "hold";
}

}  // namespace lg::config
