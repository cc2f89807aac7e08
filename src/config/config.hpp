#pragma once
// Every setting lettagate has, with its flag, its LETTAGATE_* variable and its default.
// Precedence: flag > environment > default. Bad values are a ConfigError naming the setting.
// Parsing has no side effects: it loads nothing and opens nothing (but a *_FILE secret), so
// `lettagate check` stays small; what only a client library can judge (a libpq connection
// string) is checked where the probe is made (probes/factories.hpp).
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/components.hpp"
#include "config/config_error.hpp"
#include "config/url.hpp"
#include "core/duration.hpp"
#include "core/host_port.hpp"

namespace lg::config {

struct TcpCheck {
  std::string name;
  core::HostPort target;
  ProbeSchedule schedule;
};

enum class ForwardHealthMode { Hold, Reject, Ignore };
// "hold", "reject", "ignore": as --forward-health spells it.
const char* health_mode_name(ForwardHealthMode mode);

struct ForwardRoute {
  core::HostPort listen;
  core::HostPort upstream;
  std::string name;            // "listen=upstream" as written, used as the metric label
  // LISTEN=UPSTREAM@COMPONENT: this route follows its own component ("" after @off: none);
  // without the suffix it follows ForwardSettings::health_component.
  std::optional<std::string> health;
};

struct ForwardSettings {
  std::vector<ForwardRoute> routes;
  std::string health_component = "letta";  // component a route follows ("" or off: none)
  ForwardHealthMode health_mode = ForwardHealthMode::Hold;
  core::Millis hold_timeout{10000};
  core::Millis connect_timeout{5000};
  core::Millis idle_timeout{0};  // 0: none (SSE streams live for hours)
  int max_connections = 4096;  // per route
  core::Millis dns_ttl{5000};  // how long a resolved upstream address is reused
};

struct ServerSettings {
  core::HostPort listen{"0.0.0.0", 8080};
  int max_connections = 512;
  core::Millis header_timeout{5000};
  core::Millis keepalive_timeout{60000};
  size_t max_header_bytes = 8192;
};

// The components' settings (config.letta, config.postgres, ...) come from ComponentSettings
// (config/components.hpp).
struct Config : ComponentSettings {
  ServerSettings server;
  std::vector<TcpCheck> tcp_checks;
  ForwardSettings forward;
  core::Millis drain_timeout{10000};
  std::string log_level = "info";
  std::string log_format = "text";
  // Where the values came from: the settings given by a flag or a LETTAGATE_* variable
  // (whatever the value: `--probe-timeout 2s` is given although it equals the default), and
  // for a secret read from a file, that file (setting name -> path).
  std::set<std::string> given;
  std::map<std::string, std::string> secret_files;
};

using EnvLookup = const char* (*)(const char*);
using EnvNames = std::vector<std::string> (*)();  // the names of every variable set

// Parses flags (argv after the subcommand) over the environment over defaults. A secret setting
// X may come from a file instead (--X-file, LETTAGATE_X_FILE). Every LETTAGATE_* variable must
// be a setting: checked with the process environment (env == nullptr), and with a lookup of
// your own when `env_names` lists its names.
struct ParseResult {
  std::optional<Config> config;
  std::optional<ConfigError> error;
  bool help = false;
};
ParseResult parse_config(const std::vector<std::string>& args, EnvLookup env = nullptr, EnvNames env_names = nullptr);

// An error about `setting` (its name without "--") found after parsing, by whoever uses the
// value (a probe's client library): named as the user gave it (the *_FILE setting and path when
// the value came from a file), the message redacted against `value`.
ConfigError setting_error(const Config& c, const std::string& setting, const std::string& message,
                          const std::string& value);

// The --help text: every setting with flag, variable and default.
std::string config_help();

// The effective configuration, secrets redacted (for logs and /status).
std::string describe_config(const Config& c);

}  // namespace lg::config
