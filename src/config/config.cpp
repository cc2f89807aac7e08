#include "config/config.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <functional>
#include <map>

#include "probes/libpq_loader.hpp"

namespace lg {
namespace {

enum class Kind { Value, Bool, List };

struct Ctx {
  Config cfg;
  ProbeSchedule defaults;
  // per-component schedule overrides, applied after the probe-* defaults: name -> raw value
  std::map<std::string, std::string> overrides;
  bool timeout_given = false;  // --probe-timeout set to something else than its default
};

using Apply = std::function<std::optional<std::string>(Ctx&, const std::string&)>;

struct Setting {
  std::string name;  // flag without "--"
  std::string def;
  std::string help;
  std::string group;
  Kind kind;
  Apply apply;
  bool secret = false;  // default or value may hold a password: redact in --help

  std::string env() const {
    std::string e = "LETTAGATE_";
    for (char c : name) e += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return e;
  }
  std::string label() const { return fmt::format("--{} ({})", name, env()); }
};

bool is_off(const std::string& v) { return v.empty() || v == "off"; }

std::optional<bool> parse_bool(std::string v) {
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  return std::nullopt;
}

std::optional<long> parse_int(const std::string& v, long lo, long hi) {
  if (v.empty() || v.size() > 10) return std::nullopt;
  long n = 0;
  for (char c : v) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n < lo || n > hi) return std::nullopt;
  return n;
}

// Comma-separated items, trimmed of spaces and tabs; empty items dropped.
std::vector<std::string> split_list(const std::string& v) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= v.size()) {
    size_t comma = std::min(v.find(',', start), v.size());
    const std::string item = v.substr(start, comma - start);
    auto b = item.find_first_not_of(" \t");
    auto e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
    start = comma + 1;
  }
  return out;
}

// ---- typed appliers --------------------------------------------------------------------

Apply duration_to(std::function<Millis&(Ctx&)> field, Millis min = Millis{0}) {
  return [field, min](Ctx& c, const std::string& v) -> std::optional<std::string> {
    std::string why;
    auto d = parse_duration(v, &why);
    if (!d) return fmt::format("'{}' is not a duration: {}", v, why);
    if (*d < min) return fmt::format("'{}' is below the minimum {}", v, format_duration(min));
    field(c) = *d;
    return std::nullopt;
  };
}

Apply int_to(std::function<int&(Ctx&)> field, long lo, long hi) {
  return [field, lo, hi](Ctx& c, const std::string& v) -> std::optional<std::string> {
    auto n = parse_int(v, lo, hi);
    if (!n) return fmt::format("'{}' is not a whole number from {} to {}", v, lo, hi);
    field(c) = static_cast<int>(*n);
    return std::nullopt;
  };
}

Apply bool_to(std::function<bool&(Ctx&)> field) {
  return [field](Ctx& c, const std::string& v) -> std::optional<std::string> {
    auto b = parse_bool(v);
    if (!b) return fmt::format("'{}' is not a boolean (true/false)", v);
    field(c) = *b;
    return std::nullopt;
  };
}

Apply string_to(std::function<std::string&(Ctx&)> field) {
  return [field](Ctx& c, const std::string& v) -> std::optional<std::string> {
    field(c) = v;
    return std::nullopt;
  };
}

std::optional<std::string> check_http_url(const std::string& v, Url& out, bool& enabled) {
  if (is_off(v)) {
    enabled = false;
    return std::nullopt;
  }
  std::string why;
  auto u = parse_url(v, &why);
  if (!u) return fmt::format("'{}': {}", redact_dsn(v), why);
  if (u->scheme != "http") {
    return fmt::format("'{}': scheme '{}' is not supported (use http://)", u->redacted(), u->scheme);
  }
  if (u->port == 0) u->port = 80;
  enabled = true;
  out = *u;
  return std::nullopt;
}

std::optional<std::string> apply_postgres_dsn(Ctx& c, const std::string& v) {
  auto& pg = c.cfg.postgres;
  if (is_off(v)) {
    pg.enabled = false;
    return std::nullopt;
  }
  // libpq is loaded only now that the probe is on (see probes/libpq_loader.hpp).
  std::string load_error;
  if (!libpq::load(&load_error)) return fmt::format("the postgres probe needs libpq (libpq.so.5): {}", load_error);
  // libpq's own parser decides what a valid connection string is.
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(v.c_str(), &err);
  if (!opts) {
    std::string msg = err ? err : "unparsable";
    if (err) PQfreemem(err);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return fmt::format("'{}': {}", redact_dsn(v), msg);
  }
  // libpq takes any text as a port and only fails when it connects ("invalid integer value"):
  // a typo would pass the start and leave Postgres down for ever. Check the ports now.
  bool bad_port = false;
  for (PQconninfoOption* o = opts; o->keyword && !bad_port; ++o) {
    if (std::string_view(o->keyword) != "port" || !o->val) continue;
    std::string_view ports(o->val);
    while (!bad_port) {
      const auto comma = ports.find(',');
      const std::string one(ports.substr(0, comma));
      if (!one.empty() && !parse_int(one, 1, 65535)) bad_port = true;
      if (comma == std::string_view::npos) break;
      ports.remove_prefix(comma + 1);
    }
  }
  PQconninfoFree(opts);
  // The value is not shown: with an unencoded '/' in a URL's password, libpq reads the rest
  // of the password as the port.
  if (bad_port)
    return fmt::format("'{}': the port is not a number from 1 to 65535 (in a URL, percent-encode '/', '?' and "
                       "'@' in a password: %2F %3F %40)",
                       redact_dsn(v));
  pg.enabled = true;
  pg.dsn = v;
  pg.dsn_redacted = redact_dsn(v);
  return std::nullopt;
}

std::optional<std::string> apply_redis_url(Ctx& c, const std::string& v) {
  auto& r = c.cfg.redis;
  if (is_off(v)) {
    r.enabled = false;
    return std::nullopt;
  }
  std::string why;
  auto u = parse_url(v, &why);
  if (!u) return fmt::format("'{}': {}", redact_dsn(v), why);
  if (u->scheme != "redis") {
    return fmt::format("'{}': scheme '{}' is not supported (use redis://)", u->redacted(), u->scheme);
  }
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
}

// A component a route may follow: a built-in one or a --tcp-check name (applied before the
// forwarder's settings). A misspelt name would leave a route following nothing: refused. A
// known component that is switched off only earns a warning at start (the route then ignores
// health).
std::optional<std::string> check_component_name(const Ctx& c, const std::string& name) {
  std::string names = "letta, postgres, redis, nginx";
  for (const auto& t : c.cfg.tcp_checks) {
    if (t.name == name) return std::nullopt;
    names += ", " + t.name;
  }
  if (name == "letta" || name == "postgres" || name == "redis" || name == "nginx") return std::nullopt;
  return fmt::format("'{}' is not a component (one of {}; or off)", name, names);
}

std::optional<std::string> apply_forward(Ctx& c, const std::string& v) {
  auto& f = c.cfg.forward;
  f.routes.clear();
  if (is_off(v)) return std::nullopt;
  for (const auto& item : split_list(v)) {
    auto eq = item.find('=');
    if (eq == std::string::npos)
      return fmt::format("'{}' is not LISTEN=UPSTREAM[@COMPONENT] (e.g. 0.0.0.0:8283=letta-server:8283)", item);
    std::string why;
    auto listen = parse_host_port(item.substr(0, eq), &why);
    if (!listen) return fmt::format("'{}': listen address: {}", item, why);
    const auto at = item.find('@', eq);
    auto up = parse_host_port(item.substr(eq + 1, at == std::string::npos ? std::string::npos : at - eq - 1), &why);
    if (!up) return fmt::format("'{}': upstream: {}", item, why);
    ForwardRoute route{*listen, *up, item.substr(0, at), std::nullopt};
    if (at != std::string::npos) {
      const std::string component = item.substr(at + 1);
      if (!is_off(component)) {
        if (auto err = check_component_name(c, component)) return fmt::format("'{}': {}", item, *err);
      }
      route.health = is_off(component) ? "" : component;
    }
    f.routes.push_back(std::move(route));
  }
  return std::nullopt;
}

std::optional<std::string> apply_tcp_checks(Ctx& c, const std::string& v) {
  c.cfg.tcp_checks.clear();
  if (is_off(v)) return std::nullopt;
  for (const auto& item : split_list(v)) {
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) return fmt::format("'{}' is not NAME=HOST:PORT", item);
    auto name = item.substr(0, eq);
    for (char ch : name) {
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-')
        return fmt::format("'{}': name '{}' may only use letters, digits, '-' and '_'", item, name);
    }
    if (name == "letta" || name == "postgres" || name == "redis" || name == "nginx")
      return fmt::format("'{}': name '{}' is taken by a built-in component", item, name);
    std::string why;
    auto hp = parse_host_port(item.substr(eq + 1), &why);
    if (!hp) return fmt::format("'{}': {}", item, why);
    c.cfg.tcp_checks.push_back({name, *hp, {}});
  }
  return std::nullopt;
}

std::optional<std::string> apply_status_list(Ctx& c, const std::string& v) {
  std::vector<int> codes;
  for (const auto& item : split_list(v)) {
    auto n = parse_int(item, 100, 599);
    if (!n) return fmt::format("'{}' is not an HTTP status code (100-599)", item);
    codes.push_back(static_cast<int>(*n));
  }
  if (codes.empty()) return "at least one status code is needed";
  c.cfg.letta.expect_status = codes;
  return std::nullopt;
}

std::optional<std::string> apply_method(std::string& out, const std::string& v) {
  static const char* kMethods[] = {"GET", "HEAD", "POST", "PUT", "OPTIONS"};
  for (auto* m : kMethods) {
    if (v == m) {
      out = v;
      return std::nullopt;
    }
  }
  return fmt::format("'{}' is not one of GET, HEAD, POST, PUT, OPTIONS", v);
}

std::optional<std::string> apply_path(std::string& out, const std::string& v) {
  if (v.empty() || v.front() != '/') return fmt::format("'{}' must start with '/'", v);
  out = v;
  return std::nullopt;
}

const std::vector<std::string> kComponents{"letta", "postgres", "redis", "nginx"};
// Who has per-probe schedule settings (--NAME-interval ...): each component, and "tcp-check"
// for every --tcp-check probe at once.
const std::vector<std::string> kScheduleGroups{"letta", "postgres", "redis", "nginx", "tcp-check"};

// "10" -> 0.10 of the interval.
std::optional<std::string> apply_jitter(double& out, const std::string& v) {
  auto n = parse_int(v, 0, 50);
  if (!n) return fmt::format("'{}' is not a percentage from 0 to 50", v);
  out = static_cast<double>(*n) / 100.0;
  return std::nullopt;
}

std::vector<Setting> build_table() {
  std::vector<Setting> t;
  auto add = [&t](std::string name, std::string def, std::string group, std::string help, Kind kind, Apply apply,
                  bool secret = false) {
    t.push_back({std::move(name), std::move(def), std::move(help), std::move(group), kind, std::move(apply), secret});
  };
  const std::string G0 = "Server", G1 = "Letta API", G2 = "Postgres", G3 = "Redis", G4 = "nginx SSE proxy",
                    G5 = "Probing", G6 = "Forwarder", G7 = "Logging";

  add("listen", "0.0.0.0:8080", G0, "health and metrics address (/livez /readyz /status /metrics)", Kind::Value,
      [](Ctx& c, const std::string& v) -> std::optional<std::string> {
        std::string why;
        auto hp = parse_host_port(v, &why);
        if (!hp) return fmt::format("'{}': {}", v, why);
        c.cfg.server.listen = *hp;
        return std::nullopt;
      });
  add("max-connections", "512", G0, "health server connection cap", Kind::Value,
      int_to([](Ctx& c) -> int& { return c.cfg.server.max_connections; }, 1, 100000));
  add("header-timeout", "5s", G0, "a request's headers must arrive within this (slow clients are cut)", Kind::Value,
      duration_to([](Ctx& c) -> Millis& { return c.cfg.server.header_timeout; }, Millis{1}));
  add("keepalive-timeout", "60s", G0, "idle keep-alive connections are closed after this", Kind::Value,
      duration_to([](Ctx& c) -> Millis& { return c.cfg.server.keepalive_timeout; }, Millis{1}));
  add("max-header-bytes", "8192", G0, "request header size limit (431 above it)", Kind::Value,
      [](Ctx& c, const std::string& v) -> std::optional<std::string> {
        auto n = parse_int(v, 256, 1 << 20);
        if (!n) return fmt::format("'{}' is not a number of bytes from 256 to 1048576", v);
        c.cfg.server.max_header_bytes = static_cast<size_t>(*n);
        return std::nullopt;
      });
  add("drain-timeout", "10s", G0, "on SIGTERM, how long in-flight work may finish", Kind::Value,
      duration_to([](Ctx& c) -> Millis& { return c.cfg.drain_timeout; }));

  add("letta-url", "http://letta-server:8283", G1, "Letta API base URL (off: not probed)", Kind::Value,
      [](Ctx& c, const std::string& v) { return check_http_url(v, c.cfg.letta.url, c.cfg.letta.enabled); });
  add("letta-path", "/v1/health/", G1, "health path (with the slash: the bare path answers 307)", Kind::Value,
      [](Ctx& c, const std::string& v) { return apply_path(c.cfg.letta.path, v); });
  add("letta-method", "GET", G1, "HTTP method of the health request", Kind::Value,
      [](Ctx& c, const std::string& v) { return apply_method(c.cfg.letta.method, v); });
  add("letta-expect-status", "200", G1, "accepted status codes, comma-separated", Kind::Value, apply_status_list);
  add("letta-expect-body", "", G1, "substring the body must contain", Kind::Value,
      string_to([](Ctx& c) -> std::string& { return c.cfg.letta.expect_body; }));
  add("letta-expect-json", "status=ok", G1, "FIELD=VALUE the JSON body must hold (off: no check)", Kind::Value,
      [](Ctx& c, const std::string& v) -> std::optional<std::string> {
        if (is_off(v)) {
          c.cfg.letta.expect_json.clear();
          return std::nullopt;
        }
        if (v.find('=') == std::string::npos || v.front() == '=') return fmt::format("'{}' is not FIELD=VALUE", v);
        c.cfg.letta.expect_json = v;
        return std::nullopt;
      });
  add("letta-host-header", "", G1, "Host header to send (default: from the URL)", Kind::Value,
      string_to([](Ctx& c) -> std::string& { return c.cfg.letta.host_header; }));
  add("letta-degraded-after", "0", G1, "latency above this marks Letta degraded (0: off)", Kind::Value,
      duration_to([](Ctx& c) -> Millis& { return c.cfg.letta.degraded_after; }));
  add("letta-token", "", G1,
      "bearer token for a Letta with LETTA_SERVER_SECURE (its password), sent to Letta and on the SSE check",
      Kind::Value,
      [](Ctx& c, const std::string& v) -> std::optional<std::string> {
        if (v.find_first_of("\r\n") != std::string::npos) return std::string("a token cannot hold a line break");
        c.cfg.letta.token = v;
        c.cfg.nginx.letta_token = v;
        return std::nullopt;
      },
      true);
  add("letta-ready", "false", G1, "also require GET /v1/ready/ (503 while warming or draining)", Kind::Bool,
      bool_to([](Ctx& c) -> bool& { return c.cfg.letta.check_ready; }));

  add("postgres-dsn", "postgresql://letta:letta@letta-postgres:5432/letta", G2,
      "libpq connection string, URL or key=value (off: not probed)", Kind::Value, apply_postgres_dsn, true);
  add("require-pgvector", "true", G2, "the database must have the `vector` extension", Kind::Bool,
      bool_to([](Ctx& c) -> bool& { return c.cfg.postgres.require_vector; }));
  add("data-guard", "true", G2, "Letta's agents table must exist (schema migrated)", Kind::Bool,
      bool_to([](Ctx& c) -> bool& { return c.cfg.postgres.data_guard; }));
  add("min-agents", "0", G2, "live agents the database must hold (catches a fresh, empty Letta)", Kind::Value,
      int_to([](Ctx& c) -> int& { return c.cfg.postgres.min_agents; }, 0, 100000000));
  add("postgres-identity", "", G2, "pinned cluster system identifier (see /status); a new cluster is refused",
      Kind::Value, [](Ctx& c, const std::string& v) -> std::optional<std::string> {
        if (!v.empty() && !parse_int(v.substr(0, 9), 0, 999999999))
          return fmt::format("'{}' is not a system identifier (digits, as /status shows it)", v);
        for (char ch : v)
          if (!std::isdigit(static_cast<unsigned char>(ch)))
            return fmt::format("'{}' is not a system identifier (digits, as /status shows it)", v);
        c.cfg.postgres.identity = v;
        return std::nullopt;
      });

  add("redis-url", "redis://letta-redis:6379", G3, "redis://[:password@]host:port[/db] (off: not probed)",
      Kind::Value, apply_redis_url, true);
  add("redis-password", "", G3, "Redis AUTH password (overrides the URL's)", Kind::Value,
      [](Ctx& c, const std::string& v) -> std::optional<std::string> {
        if (!v.empty()) c.cfg.redis.password = v;
        return std::nullopt;
      },
      true);

  add("nginx-url", "http://letta-nginx:8284", G4, "nginx SSE proxy base URL (off: not probed)", Kind::Value,
      [](Ctx& c, const std::string& v) { return check_http_url(v, c.cfg.nginx.url, c.cfg.nginx.enabled); });
  add("nginx-health-path", "/v1/health/", G4, "path checked through nginx (reaches Letta end to end)",
      Kind::Value, [](Ctx& c, const std::string& v) { return apply_path(c.cfg.nginx.health_path, v); });
  add("sse-url", "", G4, "streaming URL or path through nginx for the SSE check (empty: off)", Kind::Value,
      [](Ctx& c, const std::string& v) -> std::optional<std::string> {
        if (is_off(v)) {
          c.cfg.nginx.sse_url.clear();
          return std::nullopt;
        }
        if (v.front() != '/') {
          std::string why;
          auto u = parse_url(v, &why);
          if (!u) return fmt::format("'{}': {}", redact_dsn(v), why);
          if (u->scheme != "http") return fmt::format("'{}': only http:// is supported", u->redacted());
        }
        c.cfg.nginx.sse_url = v;
        return std::nullopt;
      });
  add("sse-method", "GET", G4, "method of the SSE request (Letta streams on POST)", Kind::Value,
      [](Ctx& c, const std::string& v) { return apply_method(c.cfg.nginx.sse_method, v); });
  add("sse-body", "", G4, "request body (JSON) for a POST stream", Kind::Value,
      string_to([](Ctx& c) -> std::string& { return c.cfg.nginx.sse_body; }));
  add("sse-deadline", "5s", G4,
      "the first event must arrive within this, or the proxy is buffering (the nginx timeout follows it unless set)",
      Kind::Value, duration_to([](Ctx& c) -> Millis& { return c.cfg.nginx.sse_deadline; }, Millis{1}));

  add("tcp-check", "", G5, "extra TCP connect probes NAME=HOST:PORT (repeatable / comma-separated)", Kind::List,
      apply_tcp_checks);
  add("probe-interval", "5s", G5, "time between probes of a component", Kind::Value,
      duration_to([](Ctx& c) -> Millis& { return c.defaults.interval; }, Millis{10}));
  add("probe-timeout", "2s", G5, "a probe is cut and failed after this (at most the interval unless set)",
      Kind::Value, [](Ctx& c, const std::string& v) {
        c.timeout_given = v != "2s";
        return duration_to([](Ctx& x) -> Millis& { return x.defaults.timeout; }, Millis{1})(c, v);
      });
  add("probe-jitter", "10", G5, "spread of each interval, percent", Kind::Value,
      [](Ctx& c, const std::string& v) { return apply_jitter(c.defaults.jitter, v); });
  add("probe-rise", "2", G5, "consecutive successes before a component is up", Kind::Value,
      int_to([](Ctx& c) -> int& { return c.defaults.rise; }, 1, 100));
  add("probe-fall", "3", G5, "consecutive failures before a component is down", Kind::Value,
      int_to([](Ctx& c) -> int& { return c.defaults.fall; }, 1, 100));
  add("startup-grace", "0", G5, "after start, failures leave a component unknown rather than down", Kind::Value,
      duration_to([](Ctx& c) -> Millis& { return c.defaults.grace; }));
  for (const auto& comp : kScheduleGroups) {
    const std::string who = comp == "tcp-check" ? "every --tcp-check probe" : comp;
    for (const char* knob : {"interval", "timeout", "jitter", "rise", "fall", "grace", "required"}) {
      std::string name = comp + "-" + knob;
      std::string help = std::string(knob) == "required"
                             ? "false: " + who + " down only degrades the gate (still ready)"
                             : "override --" +
                                   std::string(knob == std::string("grace") ? "startup-grace" : "probe-" + std::string(knob)) +
                                   " for " + who;
      std::string def = std::string(knob) == "required" ? "true" : "";
      add(name, def, G5, help, std::string(knob) == "required" ? Kind::Bool : Kind::Value,
          [name](Ctx& c, const std::string& v) -> std::optional<std::string> {
            if (!v.empty()) c.overrides[name] = v;
            return std::nullopt;
          });
    }
  }

  add("forward", "0.0.0.0:8283=letta-server:8283", G6,
      "LISTEN=UPSTREAM TCP routes, @COMPONENT to follow another component (repeatable; off: none)",
      Kind::List, apply_forward);
  add("forward-health", "letta", G6, "component the routes follow unless a route names its own (off: none)",
      Kind::Value,
      [](Ctx& c, const std::string& v) -> std::optional<std::string> {
        c.cfg.forward.health_component = is_off(v) ? "" : v;
        return is_off(v) ? std::nullopt : check_component_name(c, v);
      });
  add("forward-health-mode", "hold", G6,
      "while that component is down: hold (wait up to forward-hold), reject, or ignore", Kind::Value,
      [](Ctx& c, const std::string& v) -> std::optional<std::string> {
        if (v == "hold") c.cfg.forward.health_mode = ForwardHealthMode::Hold;
        else if (v == "reject") c.cfg.forward.health_mode = ForwardHealthMode::Reject;
        else if (v == "ignore") c.cfg.forward.health_mode = ForwardHealthMode::Ignore;
        else return fmt::format("'{}' is not one of hold, reject, ignore", v);
        return std::nullopt;
      });
  add("forward-hold", "10s", G6, "how long a new connection waits for the component (hold mode)", Kind::Value,
      duration_to([](Ctx& c) -> Millis& { return c.cfg.forward.hold_timeout; }));
  add("forward-connect-timeout", "5s", G6, "upstream connect timeout", Kind::Value,
      duration_to([](Ctx& c) -> Millis& { return c.cfg.forward.connect_timeout; }, Millis{1}));
  add("forward-idle-timeout", "0", G6, "close connections idle this long (0: never; SSE lives for hours)",
      Kind::Value, duration_to([](Ctx& c) -> Millis& { return c.cfg.forward.idle_timeout; }));
  add("forward-max-connections", "4096", G6, "connection cap per route", Kind::Value,
      int_to([](Ctx& c) -> int& { return c.cfg.forward.max_connections; }, 1, 1000000));
  add("forward-dns-ttl", "5s", G6, "reuse a resolved upstream address this long (0: resolve every time)",
      Kind::Value, duration_to([](Ctx& c) -> Millis& { return c.cfg.forward.dns_ttl; }));

  add("log-level", "info", G7, "trace, debug, info, warn, error", Kind::Value,
      [](Ctx& c, const std::string& v) -> std::optional<std::string> {
        static const char* kLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
        for (auto* l : kLevels)
          if (v == l) {
            c.cfg.log_level = v;
            return std::nullopt;
          }
        return fmt::format("'{}' is not one of trace, debug, info, warn, error", v);
      });
  add("log-format", "text", G7, "text or json (one JSON object a line)", Kind::Value,
      [](Ctx& c, const std::string& v) -> std::optional<std::string> {
        if (v != "text" && v != "json") return fmt::format("'{}' is not text or json", v);
        c.cfg.log_format = v;
        return std::nullopt;
      });
  return t;
}

const std::vector<Setting>& table() {
  static const std::vector<Setting> t = build_table();
  return t;
}

const Setting* find_setting(const std::string& name) {
  for (const auto& s : table())
    if (s.name == name) return &s;
  return nullptr;
}

// The SSE check waits up to --sse-deadline for its first event, longer than the default probe
// timeout. Unless --nginx-timeout is given, the nginx timeout follows the deadline (one second
// more, so the check's own verdict wins the race with the runner's cut) and the interval, unless
// given, grows to hold it: `--sse-url` alone works. A timeout given too short is an error
// (cross_checks).
void fit_nginx_to_sse(Ctx& c) {
  auto& ng = c.cfg.nginx;
  if (!ng.enabled || ng.sse_url.empty() || c.overrides.count("nginx-timeout")) return;
  if (ng.schedule.timeout > ng.sse_deadline) return;
  ng.schedule.timeout = ng.sse_deadline + Millis{1000};
  if (!c.overrides.count("nginx-interval")) ng.schedule.interval = std::max(ng.schedule.interval, ng.schedule.timeout);
}

// Applies per-component schedule overrides on top of the probe-* defaults.
std::optional<ConfigError> finish_schedules(Ctx& c) {
  ProbeSchedule tcp_checks;
  auto sched_for = [&](const std::string& comp) -> ProbeSchedule& {
    if (comp == "letta") return c.cfg.letta.schedule;
    if (comp == "postgres") return c.cfg.postgres.schedule;
    if (comp == "redis") return c.cfg.redis.schedule;
    if (comp == "nginx") return c.cfg.nginx.schedule;
    return tcp_checks;
  };
  for (const auto& comp : kScheduleGroups) {
    ProbeSchedule s = c.defaults;
    for (const auto& [name, value] : c.overrides) {
      if (name.rfind(comp + "-", 0) != 0) continue;
      std::string knob = name.substr(comp.size() + 1);
      Ctx tmp;
      tmp.defaults = s;
      std::optional<std::string> err;
      if (knob == "interval") err = duration_to([](Ctx& x) -> Millis& { return x.defaults.interval; }, Millis{10})(tmp, value);
      else if (knob == "timeout") err = duration_to([](Ctx& x) -> Millis& { return x.defaults.timeout; }, Millis{1})(tmp, value);
      else if (knob == "jitter") err = apply_jitter(tmp.defaults.jitter, value);
      else if (knob == "rise") err = int_to([](Ctx& x) -> int& { return x.defaults.rise; }, 1, 100)(tmp, value);
      else if (knob == "fall") err = int_to([](Ctx& x) -> int& { return x.defaults.fall; }, 1, 100)(tmp, value);
      else if (knob == "grace") err = duration_to([](Ctx& x) -> Millis& { return x.defaults.grace; })(tmp, value);
      else if (knob == "required") err = bool_to([](Ctx& x) -> bool& { return x.defaults.required; })(tmp, value);
      if (err) return ConfigError{find_setting(name)->label(), *err};
      s = tmp.defaults;
    }
    // A short interval with the default timeout (--probe-interval 1s): the timeout follows the
    // interval rather than making the probe overlap itself. A timeout given too long stays an
    // error (cross_checks).
    if (!c.timeout_given && !c.overrides.count(comp + "-timeout")) s.timeout = std::min(s.timeout, s.interval);
    sched_for(comp) = s;
  }
  for (auto& t : c.cfg.tcp_checks) t.schedule = tcp_checks;
  fit_nginx_to_sse(c);
  return std::nullopt;
}

std::optional<ConfigError> cross_checks(const Config& cfg) {
  auto check = [](const std::string& comp, const ProbeSchedule& s) -> std::optional<ConfigError> {
    if (s.timeout > s.interval)
      return ConfigError{fmt::format("--{0}-timeout (LETTAGATE_{1}_TIMEOUT)", comp, [&] {
                           std::string u;
                           for (char ch : comp) u += ch == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
                           return u;
                         }()),
                         fmt::format("timeout {} is longer than the interval {}: a probe would overlap itself",
                                     format_duration(s.timeout), format_duration(s.interval))};
    return std::nullopt;
  };
  if (auto e = check("letta", cfg.letta.schedule)) return e;
  if (auto e = check("postgres", cfg.postgres.schedule)) return e;
  if (auto e = check("redis", cfg.redis.schedule)) return e;
  if (auto e = check("nginx", cfg.nginx.schedule)) return e;
  if (!cfg.tcp_checks.empty()) {
    if (auto e = check("tcp-check", cfg.tcp_checks.front().schedule)) return e;
  }
  // The SSE check waits up to --sse-deadline for the first event; the runner cuts the attempt
  // at the nginx timeout. Equal values would let the cut win and report "timeout" where the
  // answer is "buffered", so the timeout must be strictly longer.
  const auto& ng = cfg.nginx;
  if (ng.enabled && !ng.sse_url.empty() && ng.schedule.timeout <= ng.sse_deadline) {
    const Millis timeout = ng.sse_deadline + Millis{1000};
    return ConfigError{"--nginx-timeout (LETTAGATE_NGINX_TIMEOUT)",
                       fmt::format("timeout {} must be longer than --sse-deadline {}: the SSE check waits that long "
                                   "for the first event (e.g. --nginx-timeout {} --nginx-interval {})",
                                   format_duration(ng.schedule.timeout), format_duration(ng.sse_deadline),
                                   format_duration(timeout), format_duration(std::max(timeout, ng.schedule.interval)))};
  }
  return std::nullopt;
}

}  // namespace

ParseResult parse_config(const std::vector<std::string>& args, EnvLookup env) {
  if (!env) env = [](const char* n) -> const char* { return std::getenv(n); };
  ParseResult result;
  // Collect raw values: default < env < flags.
  std::map<std::string, std::string> values;
  std::map<std::string, std::vector<std::string>> flag_lists;
  for (const auto& s : table()) {
    values[s.name] = s.def;
    if (const char* e = env(s.env().c_str())) values[s.name] = e;
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      result.help = true;
      return result;
    }
    if (a.rfind("--", 0) != 0) {
      // A bare connection URL given by mistake may carry a password: redact it.
      result.error = ConfigError{"argument", fmt::format("unexpected argument '{}' (see --help)", redact_dsn(a))};
      return result;
    }
    auto eq = a.find('=');
    std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    const Setting* s = find_setting(name);
    if (!s) {
      result.error = ConfigError{"--" + name, "unknown setting (see --help)"};
      return result;
    }
    std::string value;
    if (eq != std::string::npos) {
      value = a.substr(eq + 1);
    } else if (s->kind == Kind::Bool) {
      value = "true";
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      result.error = ConfigError{s->label(), "needs a value"};
      return result;
    }
    if (s->kind == Kind::List) flag_lists[name].push_back(value);
    else values[name] = value;
  }
  for (auto& [name, list] : flag_lists) {
    std::string joined;
    for (const auto& v : list) joined += (joined.empty() ? "" : ",") + v;
    values[name] = joined;
  }
  Ctx ctx;
  for (const auto& s : table()) {
    if (auto err = s.apply(ctx, values[s.name])) {
      result.error = ConfigError{s.label(), *err};
      return result;
    }
  }
  if (auto err = finish_schedules(ctx)) {
    result.error = err;
    return result;
  }
  if (auto err = cross_checks(ctx.cfg)) {
    result.error = err;
    return result;
  }
  result.config = std::move(ctx.cfg);
  return result;
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
  out += fmt::format(" letta={}", c.letta.enabled ? c.letta.url.redacted() : "off");
  out += fmt::format(" postgres={}", c.postgres.enabled ? c.postgres.dsn_redacted : "off");
  out += fmt::format(" redis={}", c.redis.enabled ? c.redis.url.redacted() : "off");
  out += fmt::format(" nginx={}", c.nginx.enabled ? c.nginx.url.redacted() : "off");
  std::string routes;
  for (const auto& r : c.forward.routes) routes += (routes.empty() ? "" : ",") + r.name;
  out += fmt::format(" forward={}", routes.empty() ? "off" : routes);
  return out;
}

}  // namespace lg
