// Each component's settings rows (flag, default, --help line, how the value is applied), in the
// order --help shows them, and the nginx schedule's dependence on its SSE check.
#include "config/components.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "config/settings_table.hpp"
#include "config/value_parsers.hpp"

namespace lg::config {

std::vector<std::string> component_names() {
  std::vector<std::string> out;
  for_each_component([&](const auto& spec) { out.emplace_back(spec.name); });
  return out;
}

void add_letta_settings(SettingsTable& t) {
  t.add("letta-url", "http://letta-server:8283", "Letta API base URL (off: not probed)", Kind::Value,
        [](ParseState& c, const std::string& v) { return parse_http_url(v, c.cfg.letta.url, c.cfg.letta.enabled); });
  t.add("letta-path", "/v1/health/", "health path (with the slash: the bare path answers 307)", Kind::Value,
        [](ParseState& c, const std::string& v) { return parse_path(v, c.cfg.letta.path); });
  t.add("letta-method", "GET", "HTTP method of the health request", Kind::Value,
        [](ParseState& c, const std::string& v) { return parse_method(v, c.cfg.letta.method); });
  t.add("letta-expect-status", "200", "accepted status codes, comma-separated", Kind::Value,
        [](ParseState& c, const std::string& v) -> std::optional<std::string> {
          std::vector<int> codes;
          for (const auto& item : split_list(v)) {
            auto n = parse_int(item, 100, 599);
            if (!n) return fmt::format("'{}' is not an HTTP status code (100-599)", item);
            codes.push_back(static_cast<int>(*n));
          }
          if (codes.empty()) return "at least one status code is needed";
          c.cfg.letta.expect_status = codes;
          return std::nullopt;
        });
  t.add("letta-expect-body", "", "substring the body must contain", Kind::Value,
        string_to([](ParseState& c) -> std::string& { return c.cfg.letta.expect_body; }));
  t.add("letta-expect-json", "status=ok", "FIELD=VALUE the JSON body must hold (off: no check)", Kind::Value,
        [](ParseState& c, const std::string& v) -> std::optional<std::string> {
          if (is_off(v)) {
            c.cfg.letta.expect_json.clear();
            return std::nullopt;
          }
          if (v.find('=') == std::string::npos || v.front() == '=') return fmt::format("'{}' is not FIELD=VALUE", v);
          c.cfg.letta.expect_json = v;
          return std::nullopt;
        });
  t.add("letta-host-header", "", "Host header to send (default: from the URL)", Kind::Value,
        string_to([](ParseState& c) -> std::string& { return c.cfg.letta.host_header; }));
  t.add("letta-degraded-after", "0", "latency above this marks Letta degraded (0: off)", Kind::Value,
        duration_to([](ParseState& c) -> core::Millis& { return c.cfg.letta.degraded_after; }));
  // The token reaches Letta through nginx too (its health route and the SSE check).
  t.add("letta-token", "", "bearer token for a Letta with LETTA_SERVER_SECURE (its password), sent to Letta and on the SSE check",
        Kind::Value, [](ParseState& c, const std::string& v) -> std::optional<std::string> {
          if (v.find_first_of("\r\n") != std::string::npos) return std::string("a token cannot hold a line break");
          c.cfg.letta.token = v;
          c.cfg.nginx.letta_token = v;
          return std::nullopt;
        });
  t.secret(true);
  t.file_of_last();
  t.add("letta-ready", "false", "also require GET /v1/ready/ (503 while warming or draining)", Kind::Bool,
        bool_to([](ParseState& c) -> bool& { return c.cfg.letta.check_ready; }));
}

void add_postgres_settings(SettingsTable& t) {
  // Kept as given: libpq judges it when the probe is made (probes/postgres_probe.cpp), so that
  // parsing loads nothing.
  t.add("postgres-dsn", "postgresql://letta:letta@letta-postgres:5432/letta",
        "libpq connection string, URL or key=value (off: not probed)", Kind::Value,
        [](ParseState& c, const std::string& v) -> std::optional<std::string> {
          auto& pg = c.cfg.postgres;
          pg.enabled = !is_off(v);
          pg.dsn = pg.enabled ? v : "";
          pg.dsn_redacted = pg.enabled ? redact_dsn(v) : "";
          return std::nullopt;
        });
  t.secret();
  t.file_of_last();
  t.add("require-pgvector", "true", "the database must have the `vector` extension", Kind::Bool,
        bool_to([](ParseState& c) -> bool& { return c.cfg.postgres.require_vector; }));
  t.add("data-guard", "true", "Letta's agents table must exist (schema migrated)", Kind::Bool,
        bool_to([](ParseState& c) -> bool& { return c.cfg.postgres.data_guard; }));
  // One number for both views of the data: the table's count (postgres) and Letta's own
  // (GET /v1/agents/count, the letta component), so a Letta on a database of its own is caught.
  t.add("min-agents", "0", "live agents the database and Letta's API must report (catches a fresh, empty Letta)",
        Kind::Value, [to_postgres = int_to([](ParseState& c) -> int& { return c.cfg.postgres.min_agents; }, 0, 100000000)](
                         ParseState& c, const std::string& v) {
          auto err = to_postgres(c, v);
          c.cfg.letta.min_agents = c.cfg.postgres.min_agents;
          return err;
        });
  t.add("postgres-identity", "", "pinned cluster system identifier (see /status); a new cluster is refused", Kind::Value,
        [](ParseState& c, const std::string& v) -> std::optional<std::string> {
          const bool digits = std::all_of(v.begin(), v.end(), [](unsigned char ch) { return std::isdigit(ch); });
          if (!digits || (!v.empty() && !parse_int(v.substr(0, 9), 0, 999999999)))
            return fmt::format("'{}' is not a system identifier (digits, as /status shows it)", v);
          c.cfg.postgres.identity = v;
          return std::nullopt;
        });
}

void add_redis_settings(SettingsTable& t) {
  t.add("redis-url", "redis://letta-redis:6379", "redis://[:password@]host:port[/db] (off: not probed)", Kind::Value,
        [](ParseState& c, const std::string& v) -> std::optional<std::string> {
          auto& r = c.cfg.redis;
          if (is_off(v)) {
            r.enabled = false;
            return std::nullopt;
          }
          std::string why;
          auto u = parse_url(v, &why);
          if (!u) return fmt::format("'{}': {}", redact_dsn(v), why);
          if (u->scheme != "redis")
            return fmt::format("'{}': scheme '{}' is not supported (use redis://)", u->redacted(), u->scheme);
          if (u->port == 0) u->port = 6379;
          if (u->path.size() > 1) {
            auto db = parse_int(u->path.substr(1), 0, 1000);
            if (!db) return fmt::format("'{}': database '{}' is not a number", u->redacted(), u->path.substr(1));
            r.db = static_cast<int>(*db);
          }
          if (u->has_password && r.password.empty()) r.password = u->password;
          r.enabled = true;
          r.url = *u;
          return std::nullopt;
        });
  t.secret();
  t.file_of_last();
  t.add("redis-password", "", "Redis AUTH password (overrides the URL's)", Kind::Value,
        [](ParseState& c, const std::string& v) -> std::optional<std::string> {
          if (!v.empty()) c.cfg.redis.password = v;
          return std::nullopt;
        });
  t.secret(true);
  t.file_of_last();
  t.add("redis-allow-replica", "false", "count a Redis replica (INFO role slave) as up; by default it is down: Letta writes",
        Kind::Bool, bool_to([](ParseState& c) -> bool& { return c.cfg.redis.allow_replica; }));
}

void add_nginx_settings(SettingsTable& t) {
  t.add("nginx-url", "http://letta-nginx:8284", "nginx SSE proxy base URL (off: not probed)", Kind::Value,
        [](ParseState& c, const std::string& v) { return parse_http_url(v, c.cfg.nginx.url, c.cfg.nginx.enabled); });
  t.add("nginx-health-path", "/v1/health/", "path checked through nginx (reaches Letta end to end)", Kind::Value,
        [](ParseState& c, const std::string& v) { return parse_path(v, c.cfg.nginx.health_path); });
  t.add("sse-url", "", "streaming URL or path through nginx for the SSE check (empty: off)", Kind::Value,
        [](ParseState& c, const std::string& v) -> std::optional<std::string> {
          if (is_off(v)) {
            c.cfg.nginx.sse_url.clear();
            return std::nullopt;
          }
          if (v.front() != '/') {
            std::string why;
            auto u = parse_url(v, &why);
            if (!u) return fmt::format("'{}': {}", redact_dsn(v), why);
            if (u->scheme != "http") return fmt::format("'{}': only http:// is supported", u->redacted());
            if (auto err = refuse_credentials(*u)) return err;
          }
          c.cfg.nginx.sse_url = v;
          return std::nullopt;
        });
  t.add("sse-method", "GET", "method of the SSE request (Letta streams on POST)", Kind::Value,
        [](ParseState& c, const std::string& v) { return parse_method(v, c.cfg.nginx.sse_method); });
  t.add("sse-body", "", "request body (JSON) for a POST stream", Kind::Value,
        string_to([](ParseState& c) -> std::string& { return c.cfg.nginx.sse_body; }));
  t.add("sse-deadline", "5s",
        "the first event must arrive within this, or the proxy is buffering (the nginx timeout follows it unless set)",
        Kind::Value,
        duration_to([](ParseState& c) -> core::Millis& { return c.cfg.nginx.sse_deadline; }, core::Millis{1}));
}

// The SSE check waits up to --sse-deadline for its first event, longer than the default probe
// timeout. Unless --nginx-timeout is given, the nginx timeout follows the deadline (one second
// more, so the check's own verdict wins the race with the runner's cut) and the interval, unless
// given, grows to hold it: `--sse-url` alone works. A timeout given too short is an error
// (check_sse_deadline).
void fit_nginx_to_sse(NginxSettings& ng, ScheduleGiven given) {
  if (!ng.enabled || ng.sse_url.empty() || given.timeout) return;
  if (ng.schedule.timeout > ng.sse_deadline) return;
  ng.schedule.timeout = ng.sse_deadline + core::Millis{1000};
  if (!given.interval) ng.schedule.interval = std::max(ng.schedule.interval, ng.schedule.timeout);
}

// The runner cuts an attempt at the nginx timeout. Equal values would let the cut win and report
// "timeout" where the answer is "buffered", so the timeout must be strictly longer.
std::optional<ConfigError> check_sse_deadline(const NginxSettings& ng) {
  if (!ng.enabled || ng.sse_url.empty() || ng.schedule.timeout > ng.sse_deadline) return std::nullopt;
  const core::Millis timeout = ng.sse_deadline + core::Millis{1000};
  return ConfigError{
      "--nginx-timeout (LETTAGATE_NGINX_TIMEOUT)",
      fmt::format("timeout {} must be longer than --sse-deadline {}: the SSE check waits that long "
                  "for the first event (e.g. --nginx-timeout {} --nginx-interval {})",
                  core::format_duration(ng.schedule.timeout), core::format_duration(ng.sse_deadline),
                  core::format_duration(timeout), core::format_duration(std::max(timeout, ng.schedule.interval)))};
}

}  // namespace lg::config
