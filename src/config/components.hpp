#pragma once
// The probed components, each described once: its name (the metric label, the /status key and
// the prefix of its schedule flags, --letta-interval), its group in --help, its settings (the
// struct here, the rows with their defaults in components.cpp), how it is shown, and what its
// probe reports. Config, the wiring (app/components.cpp), `wait`, the metrics, the status page
// and the docs (--help, read by scripts/gen-config-doc) iterate kComponents. A component's probe
// is made by the make_probe overload for its settings (probes/factories.hpp), defined in its
// probe file.
//
// Adding a component: its settings struct, a member of ComponentSettings and an entry in
// kComponents here, its rows in components.cpp, and its probe file.
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "config/config_error.hpp"
#include "config/url.hpp"
#include "core/duration.hpp"

namespace lg::config {

struct ProbeSchedule {
  core::Millis interval{5000};
  core::Millis down_interval{250};  // while not up (Envoy's unhealthy_interval); 0: the interval
  core::Millis timeout{2000};
  double jitter = 0.1;  // fraction of the interval, spread so probes never fire in lockstep
  int rise = 2;         // consecutive successes to become up
  int fall = 3;         // consecutive failures to become down
  core::Millis grace{0};  // after start, failures keep the component "unknown" (not "down")
  bool required = true;
};

struct LettaSettings {
  bool enabled = true;
  Url url;                     // http://letta-server:8283
  std::string method = "GET";
  std::string path = "/v1/health/";
  std::vector<int> expect_status{200};
  std::string expect_body;     // substring the body must contain (empty: no check)
  std::string expect_json = "status=ok";  // field=value in the JSON body (empty: no check)
  std::string host_header;     // Host header override (empty: from the URL)
  core::Millis degraded_after{0};  // latency above this marks the component degraded (0: off)
  bool check_ready = false;    // also GET /v1/ready/ (warming/draining answer 503)
  std::string token;           // Authorization: Bearer (LETTA_SERVER_SECURE); never printed
  int min_agents = 0;          // --min-agents, shared with postgres: > 0 asks GET /v1/agents/count
  ProbeSchedule schedule;
};

struct PostgresSettings {
  bool enabled = true;
  std::string dsn;             // passed to libpq as is (checked by libpq when the probe is made); never printed
  std::string dsn_redacted;
  bool require_vector = true;  // the `vector` extension must be installed in the database
  bool data_guard = true;      // Letta's agents table must exist (schema migrated)
  int min_agents = 0;          // live agents required (0: only report the count)
  std::string identity;        // pinned cluster system identifier (empty: not pinned)
  ProbeSchedule schedule;
};

struct RedisSettings {
  bool enabled = true;
  Url url;                     // redis://[:password@]letta-redis:6379[/db]
  std::string password;        // from the URL or LETTAGATE_REDIS_PASSWORD
  int db = 0;
  bool allow_replica = false;  // a replica (role slave) counts as up: Letta only reads from it
  ProbeSchedule schedule;
};

struct NginxSettings {
  bool enabled = true;
  Url url;                     // http://letta-nginx:8284
  std::string health_path = "/v1/health/";  // through nginx to Letta: the route works end to end
  std::string sse_url;         // a streaming URL or path through nginx (empty: SSE check off)
  std::string sse_method = "GET";
  std::string sse_body;        // request body for POST streams (JSON)
  core::Millis sse_deadline{5000};  // first event must arrive within this
  std::string letta_token;     // --letta-token, sent on the SSE request (it reaches Letta); never printed
  ProbeSchedule schedule;
};

// Config's members for the components (Config derives from it, so `config.letta` reads as a
// plain member).
struct ComponentSettings {
  LettaSettings letta;
  PostgresSettings postgres;
  RedisSettings redis;
  NginxSettings nginx;
};

// What a component's probe reports beyond up or down, for the metrics.
struct Reports {
  bool http_status = false;    // an HTTP status code: probe_http_status_code{component}
  bool letta_version = false;  // its `version` fact is Letta's: letta_server_info{version}
  bool agents = false;         // the database's agent count: letta_agents (absent while unknown)
};

struct SettingsTable;  // config-internal (settings_table.hpp)

// Which schedule settings of a component the user gave (--NAME-timeout, --NAME-interval).
struct ScheduleGiven {
  bool timeout = false;
  bool interval = false;
};

template <class Settings>
struct ComponentSpec {
  std::string_view name;   // "letta"
  std::string_view title;  // its group in --help: "Letta API"
  Settings ComponentSettings::*settings;
  Reports reports;
  void (*add_settings)(SettingsTable&);       // its rows, with their defaults
  std::string (*describe)(const Settings&);  // where it is, redacted (the config line of logs and /status)
  // For a component whose schedule follows its own settings (nginx: the SSE check's deadline):
  // adjusts the schedule after the probe-* and --NAME-* settings, and checks it at the end.
  void (*fit_schedule)(Settings&, ScheduleGiven) = nullptr;
  std::optional<ConfigError> (*check)(const Settings&) = nullptr;
  std::string_view derived_timeout = {};  // what sets the timeout when none is given (errors say it)
};

void add_letta_settings(SettingsTable& t);
void add_postgres_settings(SettingsTable& t);
void add_redis_settings(SettingsTable& t);
void add_nginx_settings(SettingsTable& t);
void fit_nginx_to_sse(NginxSettings& s, ScheduleGiven given);
std::optional<ConfigError> check_sse_deadline(const NginxSettings& s);

inline constexpr auto kComponents = std::make_tuple(
    ComponentSpec<LettaSettings>{"letta", "Letta API", &ComponentSettings::letta, {.http_status = true, .letta_version = true},
                                 add_letta_settings, [](const LettaSettings& s) { return s.url.redacted(); }},
    ComponentSpec<PostgresSettings>{"postgres", "Postgres", &ComponentSettings::postgres, {.agents = true},
                                    add_postgres_settings,
                                    [](const PostgresSettings& s) { return s.dsn_redacted; }},
    ComponentSpec<RedisSettings>{"redis", "Redis", &ComponentSettings::redis, {}, add_redis_settings,
                                 [](const RedisSettings& s) { return s.url.redacted(); }},
    ComponentSpec<NginxSettings>{"nginx", "nginx SSE proxy", &ComponentSettings::nginx, {.http_status = true},
                                 add_nginx_settings, [](const NginxSettings& s) { return s.url.redacted(); },
                                 fit_nginx_to_sse, check_sse_deadline, "the SSE check's --sse-deadline and one second"});

// Calls f(spec) for each component, in the list's order (that of --help, /status and `wait`).
template <class F>
void for_each_component(F&& f) {
  std::apply([&](const auto&... spec) { (f(spec), ...); }, kComponents);
}

// The components' names, in the list's order.
std::vector<std::string> component_names();

}  // namespace lg::config
