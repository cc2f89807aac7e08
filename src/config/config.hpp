#pragma once
// Every setting lettagate has, with its flag, its LETTAGATE_* variable and its default.
// Precedence: flag > environment > default. Bad values are a ConfigError naming the setting.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "config/url.hpp"
#include "core/duration.hpp"

namespace lg {

struct ProbeSchedule {
  Millis interval{5000};
  Millis timeout{2000};
  double jitter = 0.1;  // fraction of the interval, spread so probes never fire in lockstep
  int rise = 2;         // consecutive successes to become up
  int fall = 3;         // consecutive failures to become down
  Millis grace{0};      // after start, failures keep the component "unknown" (not "down")
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
  Millis degraded_after{0};    // latency above this marks the component degraded (0: off)
  bool check_ready = false;    // also GET /v1/ready/ (warming/draining answer 503)
  std::string token;           // Authorization: Bearer (LETTA_SERVER_SECURE); never printed
  ProbeSchedule schedule;
};

struct PostgresSettings {
  bool enabled = true;
  std::string dsn;             // passed to libpq as is; never printed
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
  ProbeSchedule schedule;
};

struct NginxSettings {
  bool enabled = true;
  Url url;                     // http://letta-nginx:8284
  std::string health_path = "/v1/health/";  // through nginx to Letta: the route works end to end
  std::string sse_url;         // a streaming URL or path through nginx (empty: SSE check off)
  std::string sse_method = "GET";
  std::string sse_body;        // request body for POST streams (JSON)
  Millis sse_deadline{5000};   // first event must arrive within this
  std::string letta_token;     // --letta-token, sent on the SSE request (it reaches Letta); never printed
  ProbeSchedule schedule;
};

struct TcpCheck {
  std::string name;
  HostPort target;
  ProbeSchedule schedule;
};

enum class ForwardHealthMode { Hold, Reject, Ignore };

struct ForwardRoute {
  HostPort listen;
  HostPort upstream;
  std::string name;            // "listen=upstream" as written, used as the metric label
  // LISTEN=UPSTREAM@COMPONENT: this route follows its own component ("" after @off: none);
  // without the suffix it follows ForwardSettings::health_component.
  std::optional<std::string> health;
};

struct ForwardSettings {
  std::vector<ForwardRoute> routes;
  std::string health_component = "letta";  // component a route follows ("" or off: none)
  ForwardHealthMode health_mode = ForwardHealthMode::Hold;
  Millis hold_timeout{10000};
  Millis connect_timeout{5000};
  Millis idle_timeout{0};      // 0: none (SSE streams live for hours)
  int max_connections = 4096;  // per route
  Millis dns_ttl{5000};        // how long a resolved upstream address is reused
};

struct ServerSettings {
  HostPort listen{"0.0.0.0", 8080};
  int max_connections = 512;
  Millis header_timeout{5000};
  Millis keepalive_timeout{60000};
  size_t max_header_bytes = 8192;
};

struct Config {
  ServerSettings server;
  LettaSettings letta;
  PostgresSettings postgres;
  RedisSettings redis;
  NginxSettings nginx;
  std::vector<TcpCheck> tcp_checks;
  ForwardSettings forward;
  Millis drain_timeout{10000};
  std::string log_level = "info";
  std::string log_format = "text";
};

struct ConfigError {
  std::string setting;  // e.g. "--postgres-dsn (LETTAGATE_POSTGRES_DSN)"
  std::string message;  // never contains a secret
  std::string str() const { return "invalid " + setting + ": " + message; }
};

using EnvLookup = const char* (*)(const char*);

// Parses flags (argv after the subcommand) over the environment over defaults.
// `rest` receives arguments that are not settings (subcommand options are handled by the CLI).
struct ParseResult {
  std::optional<Config> config;
  std::optional<ConfigError> error;
  bool help = false;
};
ParseResult parse_config(const std::vector<std::string>& args, EnvLookup env = nullptr);

// The --help text: every setting with flag, variable and default.
std::string config_help();

// The effective configuration, secrets redacted (for logs and /status).
std::string describe_config(const Config& c);

}  // namespace lg
