#include <unistd.h>
#include <uv.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>

#include "app/components.hpp"
#include "config/config.hpp"
#include "probes/libpq_loader.hpp"
#include "probes/pg_attempt.hpp"

using lg::parse_config;

namespace {

// A fake environment for one test at a time (parse_config takes a plain function pointer).
std::map<std::string, std::string>& fake_env() {
  static std::map<std::string, std::string> env;
  return env;
}
const char* lookup(const char* name) {
  auto it = fake_env().find(name);
  return it == fake_env().end() ? nullptr : it->second.c_str();
}

std::vector<std::string> names() {
  std::vector<std::string> out;
  for (const auto& [name, value] : fake_env()) out.push_back(name);
  return out;
}

lg::ParseResult parse(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  fake_env() = std::move(env);
  return parse_config(args, lookup, names);
}

// The error `serve` and `wait` exit 2 with: parsing's, or what the probes' client libraries
// judge before anything starts (a libpq connection string).
std::string error_of(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  auto r = parse(std::move(args), std::move(env));
  if (r.config) {
    if (auto err = lg::app::check_probe_settings(*r.config)) return err->str();
  }
  REQUIRE(r.error);
  REQUIRE_FALSE(r.config);
  return r.error->str();
}

}  // namespace

TEST_CASE("defaults match the standalone Letta stack", "[unit][config]") {
  auto r = parse({});
  REQUIRE(r.config);
  const auto& c = *r.config;
  CHECK(c.server.listen.str() == "0.0.0.0:8080");
  CHECK(c.letta.enabled);
  CHECK(c.letta.url.host == "letta-server");
  CHECK(c.letta.url.port == 8283);
  CHECK(c.letta.path == "/v1/health/");
  CHECK(c.postgres.dsn == "postgresql://letta:letta@letta-postgres:5432/letta");
  CHECK(c.postgres.dsn_redacted == "postgresql://letta:***@letta-postgres:5432/letta");
  CHECK(c.redis.url.host == "letta-redis");
  CHECK(c.redis.url.port == 6379);
  CHECK(c.nginx.url.host == "letta-nginx");
  CHECK(c.nginx.url.port == 8284);
  REQUIRE(c.forward.routes.size() == 1);
  CHECK(c.forward.routes[0].listen.str() == "0.0.0.0:8283");
  CHECK(c.forward.routes[0].upstream.str() == "letta-server:8283");
  CHECK(c.log_level == "info");
  CHECK(c.log_format == "text");
  CHECK(c.letta.schedule.interval.count() == 5000);
  CHECK(c.letta.schedule.timeout.count() == 2000);
  CHECK(c.redis.schedule.required);
}

TEST_CASE("flags override the environment, which overrides defaults", "[unit][config]") {
  auto r = parse({"--letta-url", "http://a:1", "--log-level=debug"},
                 {{"LETTAGATE_LETTA_URL", "http://b:2"}, {"LETTAGATE_LOG_FORMAT", "json"},
                  {"LETTAGATE_LOG_LEVEL", "warn"}});
  REQUIRE(r.config);
  CHECK(r.config->letta.url.host == "a");
  CHECK(r.config->log_level == "debug");
  CHECK(r.config->log_format == "json");
}

TEST_CASE("empty or off disables a component or the forwarder", "[unit][config]") {
  auto r = parse({"--redis-url", "off", "--forward=off"}, {{"LETTAGATE_NGINX_URL", ""}, {"LETTAGATE_POSTGRES_DSN", "off"}});
  REQUIRE(r.config);
  CHECK_FALSE(r.config->redis.enabled);
  CHECK_FALSE(r.config->nginx.enabled);
  CHECK_FALSE(r.config->postgres.enabled);
  CHECK(r.config->letta.enabled);
  CHECK(r.config->forward.routes.empty());
}

TEST_CASE("forward routes: repeated flags, comma-separated env, IPv6", "[unit][config]") {
  auto r = parse({"--forward", "0.0.0.0:8283=letta-server:8283", "--forward", "[::]:9000=[::1]:9001"});
  REQUIRE(r.config);
  REQUIRE(r.config->forward.routes.size() == 2);
  CHECK(r.config->forward.routes[1].listen.host == "::");
  CHECK(r.config->forward.routes[1].upstream.str() == "[::1]:9001");
  auto e = parse({}, {{"LETTAGATE_FORWARD", "127.0.0.1:1=a:2, 127.0.0.1:3=b:4"}});
  REQUIRE(e.config);
  CHECK(e.config->forward.routes.size() == 2);
  CHECK(e.config->forward.routes[1].upstream.host == "b");
  CHECK_FALSE(e.config->forward.routes[1].health);  // follows --forward-health
}

TEST_CASE("forward routes: @COMPONENT ties a route to its own component, @off to none", "[unit][config]") {
  auto r = parse({"--tcp-check", "db=x:5432", "--forward", "0.0.0.0:8283=letta-server:8283",
                  "--forward", "0.0.0.0:5432=letta-postgres:5432@postgres", "--forward", "0.0.0.0:7=db:7@db",
                  "--forward", "[::]:8284=letta-nginx:8284@off"});
  REQUIRE(r.config);
  const auto& routes = r.config->forward.routes;
  REQUIRE(routes.size() == 4);
  CHECK_FALSE(routes[0].health);
  CHECK(*routes[1].health == "postgres");
  CHECK(routes[1].name == "0.0.0.0:5432=letta-postgres:5432");  // the metric label has no suffix
  CHECK(routes[1].upstream.str() == "letta-postgres:5432");
  CHECK(*routes[2].health == "db");
  CHECK(routes[3].health == std::string());
  CHECK(routes[3].upstream.str() == "letta-nginx:8284");
}

TEST_CASE("per-component schedules inherit probe-* and override them", "[unit][config]") {
  auto r = parse({"--probe-interval", "10s", "--probe-fall", "4", "--postgres-interval", "30s", "--redis-required=false"});
  REQUIRE(r.config);
  CHECK(r.config->letta.schedule.interval.count() == 10000);
  CHECK(r.config->letta.schedule.fall == 4);
  CHECK(r.config->postgres.schedule.interval.count() == 30000);
  CHECK(r.config->postgres.schedule.fall == 4);
  CHECK_FALSE(r.config->redis.schedule.required);
  CHECK(r.config->letta.schedule.required);
}

TEST_CASE("a short interval pulls the default timeout down with it, a given timeout stays", "[unit][config]") {
  auto r = parse({"--probe-interval", "1s", "--tcp-check", "a=x:1"});
  REQUIRE(r.config);
  CHECK(r.config->letta.schedule.timeout.count() == 1000);
  CHECK(r.config->tcp_checks[0].schedule.timeout.count() == 1000);
  auto p = parse({"--postgres-interval", "500ms"});
  REQUIRE(p.config);
  CHECK(p.config->postgres.schedule.timeout.count() == 500);
  CHECK(p.config->redis.schedule.timeout.count() == 2000);
  CHECK(parse({"--probe-interval", "1s", "--probe-timeout", "3s"}).error);
  CHECK(parse({"--probe-interval", "1s", "--redis-timeout", "3s"}).error);
}

TEST_CASE("jitter per component, and one schedule for every --tcp-check probe", "[unit][config]") {
  auto r = parse({"--probe-jitter", "20", "--redis-jitter", "0", "--tcp-check", "a=x:1,b=y:2", "--tcp-check-interval",
                  "30s", "--tcp-check-required=false", "--tcp-check-jitter", "5"});
  REQUIRE(r.config);
  CHECK(r.config->letta.schedule.jitter == Approx(0.20));
  CHECK(r.config->redis.schedule.jitter == Approx(0.0));
  REQUIRE(r.config->tcp_checks.size() == 2);
  for (const auto& t : r.config->tcp_checks) {
    CHECK(t.schedule.interval.count() == 30000);
    CHECK(t.schedule.jitter == Approx(0.05));
    CHECK_FALSE(t.schedule.required);
    CHECK(t.schedule.fall == r.config->letta.schedule.fall);  // the rest from probe-*
  }
  CHECK(parse({"--tcp-check", "a=x:1"}).config->tcp_checks[0].schedule.required);  // required by default
  auto bad = parse({"--tcp-check", "a=x:1", "--tcp-check-timeout", "10s"});
  REQUIRE(bad.error);
  CHECK(bad.error->setting == "--tcp-check-timeout (LETTAGATE_TCP_CHECK_TIMEOUT)");
  auto j = parse({"--nginx-jitter", "60"});
  REQUIRE(j.error);
  CHECK(j.error->setting == "--nginx-jitter (LETTAGATE_NGINX_JITTER)");
}

TEST_CASE("redis URL: password, db, and the password override", "[unit][config]") {
  auto r = parse({"--redis-url", "redis://:s3cret@r:6380/2"});
  REQUIRE(r.config);
  CHECK(r.config->redis.password == "s3cret");
  CHECK(r.config->redis.db == 2);
  CHECK(r.config->redis.url.redacted() == "redis://:***@r:6380/2");
  auto o = parse({"--redis-url", "redis://:s3cret@r:6380", "--redis-password", "other"});
  REQUIRE(o.config);
  CHECK(o.config->redis.password == "other");
}

TEST_CASE("every bad value exits with the setting named", "[unit][config]") {
  struct Case {
    std::vector<std::string> args;
    std::string setting;
    std::string fragment;
  };
  std::vector<Case> cases{
      {{"--listen", "nohost"}, "--listen (LETTAGATE_LISTEN)", "missing port"},
      {{"--listen", "1.2.3.4:99999"}, "--listen", "invalid port"},
      {{"--listen", "::1:80"}, "--listen", "brackets"},
      {{"--letta-url", "ftp://x"}, "--letta-url (LETTAGATE_LETTA_URL)", "not supported"},
      {{"--letta-url", "letta-server:8283"}, "--letta-url", "not a URL"},
      {{"--letta-path", "v1/health"}, "--letta-path", "must start with '/'"},
      {{"--letta-method", "FETCH"}, "--letta-method", "is not one of"},
      {{"--letta-expect-status", "200,abc"}, "--letta-expect-status", "not an HTTP status"},
      {{"--letta-expect-json", "novalue"}, "--letta-expect-json", "FIELD=VALUE"},
      {{"--letta-ready=maybe"}, "--letta-ready", "not a boolean"},
      {{"--postgres-dsn", "host=x port=y=z '"}, "--postgres-dsn", "'"},
      {{"--postgres-dsn", "postgresql://letta@db:notaport/letta"}, "--postgres-dsn", "the port is not a number"},
      {{"--postgres-dsn", "host=a,b port=5432,99999"}, "--postgres-dsn", "the port is not a number from 1 to 65535"},
      {{"--forward-health", "leta"}, "--forward-health", "'leta' is not a component (one of letta, postgres"},
      {{"--forward", "127.0.0.1:1=x:2@leta"}, "--forward", "'leta' is not a component"},
      {{"--min-agents", "-1"}, "--min-agents", "whole number"},
      {{"--postgres-identity", "abc"}, "--postgres-identity", "system identifier"},
      {{"--redis-url", "rediss://x:1"}, "--redis-url", "not supported"},
      {{"--redis-url", "redis://x:1/notadb"}, "--redis-url", "not a number"},
      {{"--sse-deadline", "5 seconds"}, "--sse-deadline", "duration"},
      {{"--probe-interval", "5"}, "--probe-interval (LETTAGATE_PROBE_INTERVAL)", "no unit"},
      {{"--probe-interval", "1ms"}, "--probe-interval", "below the minimum"},
      {{"--probe-timeout", "2x"}, "--probe-timeout", "unknown unit"},
      {{"--probe-jitter", "80"}, "--probe-jitter", "percentage"},
      {{"--probe-rise", "0"}, "--probe-rise", "whole number from 1"},
      {{"--postgres-fall", "x"}, "--postgres-fall (LETTAGATE_POSTGRES_FALL)", "whole number"},
      {{"--letta-timeout", "10s"}, "--letta-timeout", "overlap"},
      {{"--tcp-check", "letta=a:1"}, "--tcp-check", "taken by a built-in"},
      {{"--tcp-check", "a b=x:1"}, "--tcp-check", "letters"},
      {{"--tcp-check", "noequals"}, "--tcp-check", "NAME=HOST:PORT"},
      {{"--forward", "8283=letta:8283"}, "--forward", "listen address"},
      {{"--forward", "0.0.0.0:8283"}, "--forward", "LISTEN=UPSTREAM"},
      {{"--forward-health-mode", "wait"}, "--forward-health-mode", "hold, reject, ignore"},
      {{"--max-header-bytes", "10"}, "--max-header-bytes", "256"},
      {{"--log-level", "loud"}, "--log-level (LETTAGATE_LOG_LEVEL)", "not one of"},
      {{"--log-format", "xml"}, "--log-format (LETTAGATE_LOG_FORMAT)", "text or json"},
      {{"--no-such-flag"}, "--no-such-flag", "unknown setting"},
      {{"--letta-url"}, "--letta-url", "needs a value"},
      {{"positional"}, "argument", "unexpected argument"},
  };
  for (const auto& c : cases) {
    INFO(c.args[0]);
    std::string e = error_of(c.args);
    CHECK_THAT(e, Catch::Contains(c.setting));
    CHECK_THAT(e, Catch::Contains(c.fragment));
  }
}

// Parsing loads nothing: a connection string only libpq can judge is kept as given, and
// checked when the probe is made (error_of above).
TEST_CASE("parsing keeps --postgres-dsn as given, for libpq to judge", "[unit][config]") {
  auto r = parse({"--postgres-dsn", "host=a,b port=5432,99999"});
  REQUIRE(r.config);
  CHECK(r.config->postgres.dsn == "host=a,b port=5432,99999");
  CHECK_THAT(error_of({"--postgres-dsn", "host=a,b port=5432,99999"}), Catch::Contains("--postgres-dsn"));
  CHECK_FALSE(lg::app::check_probe_settings(*parse({"--postgres-dsn", "off"}).config));
}

TEST_CASE("a bad environment value names the variable", "[unit][config]") {
  std::string e = error_of({}, {{"LETTAGATE_PROBE_FALL", "many"}});
  CHECK_THAT(e, Catch::Contains("LETTAGATE_PROBE_FALL"));
  CHECK_THAT(e, Catch::Contains("'many'"));
}

TEST_CASE("errors and descriptions never show passwords", "[unit][config][redaction]") {
  std::string e = error_of({"--postgres-dsn", "postgresql://letta:hunter2@db:5432/letta?nosuchparam=1"});
  CHECK_THAT(e, !Catch::Contains("hunter2"));
  std::string e2 = error_of({"--redis-url", "rediss://:hunter2@r:1"});
  CHECK_THAT(e2, !Catch::Contains("hunter2"));
  std::string e3 = error_of({"--letta-url", "ftp://u:hunter2@x"});
  CHECK_THAT(e3, !Catch::Contains("hunter2"));
  auto ok = parse({"--postgres-dsn", "host=db password=hunter2 dbname=letta", "--redis-url", "redis://:hunter2@r:1"});
  REQUIRE(ok.config);
  std::string d = lg::describe_config(*ok.config);
  CHECK_THAT(d, !Catch::Contains("hunter2"));
  CHECK_THAT(d, Catch::Contains("password=***"));
  CHECK_THAT(d, Catch::Contains("redis://:***@r:1"));
}

TEST_CASE("config: --help lists every setting with its variable and default, secrets redacted", "[unit][config]") {
  std::string h = lg::config_help();
  for (const char* s : {"LETTAGATE_LISTEN", "LETTAGATE_LETTA_URL", "LETTAGATE_POSTGRES_DSN", "LETTAGATE_REDIS_URL",
                        "LETTAGATE_NGINX_URL", "LETTAGATE_FORWARD", "LETTAGATE_LOG_LEVEL", "LETTAGATE_LOG_FORMAT",
                        "LETTAGATE_MIN_AGENTS", "--min-agents", "--postgres-identity", "--sse-url", "--probe-rise",
                        "--redis-required", "--forward-health-mode", "--drain-timeout"}) {
    CHECK_THAT(h, Catch::Contains(s));
  }
  CHECK_THAT(h, Catch::Contains("postgresql://letta:***@letta-postgres:5432/letta"));
  CHECK_THAT(h, !Catch::Contains("letta:letta@"));
  CHECK_THAT(h, Catch::Contains("[default: 0.0.0.0:8080]"));
  CHECK(parse({"--help"}).help);
}

TEST_CASE("listen addresses are IP literals, checked when parsed", "[unit][config]") {
  std::string e = error_of({"--listen", "localhost:8080"});
  CHECK_THAT(e, Catch::Contains("--listen (LETTAGATE_LISTEN)"));
  CHECK_THAT(e, Catch::Contains("'localhost' is not an IP address"));
  std::string f = error_of({"--forward", "letta:8283=letta-server:8283"});
  CHECK_THAT(f, Catch::Contains("--forward (LETTAGATE_FORWARD)"));
  CHECK_THAT(f, Catch::Contains("'letta' is not an IP address"));
  CHECK(parse({"--listen", "[::1]:8080", "--forward", "127.0.0.1:8283=letta-server:8283"}).config);
}

TEST_CASE("a listen address given twice is refused, naming --forward", "[unit][config]") {
  std::string twice = error_of({"--forward", "0.0.0.0:8283=a:1", "--forward", "0.0.0.0:8283=b:2"});
  CHECK_THAT(twice, Catch::Contains("--forward (LETTAGATE_FORWARD)"));
  CHECK_THAT(twice, Catch::Contains("already the listen address of route '0.0.0.0:8283=a:1'"));
  // A wildcard covers the specific addresses of its family; the health server's [::] takes IPv4 too.
  CHECK_THAT(error_of({"--forward", "0.0.0.0:9=a:1,127.0.0.1:9=b:2"}), Catch::Contains("already the listen address"));
  CHECK_THAT(error_of({"--listen", "127.0.0.1:9000", "--forward", "0.0.0.0:9000=a:1"}),
             Catch::Contains("also the health server's --listen 127.0.0.1:9000"));
  CHECK(error_of({"--listen", "[::]:9000", "--forward", "127.0.0.1:9000=a:1"}).find("--listen") != std::string::npos);
  // The forwarder's [::] is IPv6 only: 0.0.0.0 and [::] on one port both bind.
  auto r = parse({"--forward", "0.0.0.0:9=a:1,[::]:9=b:2,127.0.0.1:10=c:3"});
  REQUIRE(r.config);
  CHECK(r.config->forward.routes.size() == 3);
}

TEST_CASE("config: --forward off drops the routes before it and keeps the ones after it", "[unit][config]") {
  auto r = parse({"--forward", "off", "--forward", "127.0.0.1:1=a:2"});
  REQUIRE(r.config);
  REQUIRE(r.config->forward.routes.size() == 1);
  CHECK(r.config->forward.routes[0].name == "127.0.0.1:1=a:2");
  auto again = parse({"--forward", "127.0.0.1:1=a:2", "--forward", "off", "--forward", "127.0.0.1:3=b:4"});
  REQUIRE(again.config);
  REQUIRE(again.config->forward.routes.size() == 1);
  CHECK(again.config->forward.routes[0].upstream.host == "b");
  auto last_off = parse({"--forward", "127.0.0.1:1=a:2", "--forward", ""});
  REQUIRE(last_off.config);
  CHECK(last_off.config->forward.routes.empty());
  auto checks = parse({"--tcp-check", "a=x:1", "--tcp-check", "off", "--tcp-check", "b=y:2"});
  REQUIRE(checks.config);
  REQUIRE(checks.config->tcp_checks.size() == 1);
  CHECK(checks.config->tcp_checks[0].name == "b");
}

TEST_CASE("a timeout longer than the interval names what the user gave, only for probed components",
          "[unit][config]") {
  auto e = parse({"--probe-interval", "1s", "--probe-timeout", "10s"});
  REQUIRE(e.error);
  CHECK(e.error->setting == "--probe-timeout (LETTAGATE_PROBE_TIMEOUT)");
  CHECK_THAT(e.error->message, Catch::Contains("(--probe-interval)"));
  auto own = parse({"--redis-timeout", "10s", "--letta-url", "off"});
  REQUIRE(own.error);
  CHECK(own.error->setting == "--redis-timeout (LETTAGATE_REDIS_TIMEOUT)");
  // Off components are not probed: their schedules raise nothing.
  CHECK(parse({"--letta-timeout", "10s", "--letta-url", "off"}).config);
  CHECK(parse({"--probe-interval", "1s", "--probe-timeout", "10s", "--letta-url", "off", "--postgres-dsn", "off",
               "--redis-url", "off", "--nginx-url", "off"})
            .config);
  // The SSE check's derived timeout against a given interval names the interval.
  auto sse = parse({"--sse-url", "/s", "--nginx-interval", "3s"});
  REQUIRE(sse.error);
  CHECK(sse.error->setting == "--nginx-interval (LETTAGATE_NGINX_INTERVAL)");
}

TEST_CASE("config: --probe-timeout given as the default's value counts as given, and 2s equals 2000ms", "[unit][config]") {
  // Not given: the timeout follows a short interval down.
  auto free = parse({"--probe-interval", "1s"});
  REQUIRE(free.config);
  CHECK(free.config->letta.schedule.timeout.count() == 1000);
  for (const char* given : {"2s", "2000ms"}) {
    INFO(given);
    auto r = parse({"--probe-interval", "1s", "--probe-timeout", given});
    REQUIRE(r.error);
    CHECK(r.error->setting == "--probe-timeout (LETTAGATE_PROBE_TIMEOUT)");
    auto env = parse({"--probe-interval", "1s"}, {{"LETTAGATE_PROBE_TIMEOUT", given}});
    REQUIRE(env.error);
    CHECK(env.error->setting == "--probe-timeout (LETTAGATE_PROBE_TIMEOUT)");
    auto fits = parse({"--probe-interval", "3s", "--probe-timeout", given});
    REQUIRE(fits.config);
    CHECK(fits.config->postgres.schedule.timeout.count() == 2000);
  }
}

TEST_CASE("credentials in the Letta, nginx and SSE URLs are refused without being shown", "[unit][config]") {
  for (const char* flag : {"--letta-url", "--nginx-url", "--sse-url"}) {
    INFO(flag);
    for (const char* url : {"http://user:hunter2x@letta:8283", "http://hunter2x@letta:8283", "http://:hunter2x@letta"}) {
      std::string e = error_of({flag, url});
      CHECK_THAT(e, Catch::Contains(std::string(flag) + " ("));
      CHECK_THAT(e, Catch::Contains("credentials in the URL are not sent"));
      CHECK_THAT(e, !Catch::Contains("hunter2x"));
    }
  }
}

namespace {

// A file for one test, removed at the end of it.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/lg_config_test_XXXXXX";
    int fd = mkstemp(name);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    close(fd);
    path = name;
  }
  ~TempFile() { std::remove(path.c_str()); }
};

}  // namespace

TEST_CASE("_FILE variants: the file's content without one trailing newline", "[unit][config][secrets]") {
  TempFile dsn("postgresql://letta:f1le-Secret@db:5432/letta\n");
  TempFile token("tok-Secret-9\r\n");
  TempFile redis("redis://:r3dis-Secret@r:6380/1\n\n");  // two newlines: only one is dropped
  TempFile pw("pw-Secret-7");
  auto r = parse({}, {{"LETTAGATE_POSTGRES_DSN_FILE", dsn.path},
                      {"LETTAGATE_LETTA_TOKEN_FILE", token.path},
                      {"LETTAGATE_REDIS_PASSWORD_FILE", pw.path}});
  REQUIRE(r.config);
  CHECK(r.config->postgres.dsn == "postgresql://letta:f1le-Secret@db:5432/letta");
  CHECK(r.config->postgres.dsn_redacted == "postgresql://letta:***@db:5432/letta");
  CHECK(r.config->letta.token == "tok-Secret-9");
  CHECK(r.config->redis.password == "pw-Secret-7");
  auto flag = parse({"--redis-url-file", redis.path});
  REQUIRE(flag.error);  // "redis://...\n" with the second newline left: whitespace in the path
  CHECK(flag.error->setting == "--redis-url-file (LETTAGATE_REDIS_URL_FILE)");
  CHECK_THAT(flag.error->message, Catch::Contains(redis.path));
  CHECK_THAT(flag.error->message, !Catch::Contains("r3dis-Secret"));
  // A flag beats the variable, whichever form each has.
  auto flag_file = parse({"--postgres-dsn-file", dsn.path}, {{"LETTAGATE_POSTGRES_DSN", "postgresql://other@x/y"}});
  REQUIRE(flag_file.config);
  CHECK(flag_file.config->postgres.dsn == "postgresql://letta:f1le-Secret@db:5432/letta");
  auto flag_value = parse({"--postgres-dsn", "off"}, {{"LETTAGATE_POSTGRES_DSN_FILE", "/nonexistent/never/read"}});
  REQUIRE(flag_value.config);
  CHECK_FALSE(flag_value.config->postgres.enabled);
  // An empty variable beside its _FILE: the file wins, as in the postgres image.
  auto empty = parse({}, {{"LETTAGATE_POSTGRES_DSN", ""}, {"LETTAGATE_POSTGRES_DSN_FILE", dsn.path}});
  REQUIRE(empty.config);
  CHECK(empty.config->postgres.enabled);
}

TEST_CASE("_FILE variants: both forms set, or an unreadable or empty file, exit naming them", "[unit][config][secrets]") {
  TempFile dsn("postgresql://letta:f1le-Secret@db:5432/letta");
  auto both = parse({}, {{"LETTAGATE_POSTGRES_DSN", "postgresql://letta:env-Secret@db/letta"},
                         {"LETTAGATE_POSTGRES_DSN_FILE", dsn.path}});
  REQUIRE(both.error);
  CHECK(both.error->setting == "LETTAGATE_POSTGRES_DSN and LETTAGATE_POSTGRES_DSN_FILE");
  CHECK_THAT(both.error->str(), !Catch::Contains("Secret"));
  auto both_flags = parse({"--letta-token", "tok-Secret", "--letta-token-file", dsn.path});
  REQUIRE(both_flags.error);
  CHECK(both_flags.error->setting == "--letta-token and --letta-token-file");
  CHECK_THAT(both_flags.error->str(), !Catch::Contains("Secret"));
  TempFile empty("\n");
  for (const std::string& path : {std::string("/nonexistent/dsn"), std::string("/tmp"), empty.path}) {
    INFO(path);
    auto bad = parse({}, {{"LETTAGATE_POSTGRES_DSN_FILE", path}});
    REQUIRE(bad.error);
    CHECK(bad.error->setting == "--postgres-dsn-file (LETTAGATE_POSTGRES_DSN_FILE)");
    CHECK_THAT(bad.error->message, Catch::Contains("'" + path + "'"));
  }
  CHECK_THAT(error_of({}, {{"LETTAGATE_REDIS_PASSWORD_FILE", "/nonexistent/pw"}}),
             Catch::Contains("No such file or directory"));
  // A malformed value from a file is reported against the file, its content redacted.
  TempFile broken("postgresql://letta:br0ken-Secret@[::1/letta\n");
  std::string e = error_of({"--postgres-dsn-file", broken.path});
  CHECK_THAT(e, Catch::StartsWith("invalid --postgres-dsn-file (LETTAGATE_POSTGRES_DSN_FILE): in '" + broken.path));
  CHECK_THAT(e, !Catch::Contains("br0ken-Secret"));
}

TEST_CASE("an unknown LETTAGATE_* variable or flag is refused with the nearest name", "[unit][config]") {
  auto typo = parse({}, {{"LETTAGATE_LETTA_URLL", "http://x:1"}});
  REQUIRE(typo.error);
  CHECK(typo.error->setting == "environment variable LETTAGATE_LETTA_URLL");
  CHECK_THAT(typo.error->message, Catch::Contains("did you mean LETTAGATE_LETTA_URL?"));
  auto secret = parse({}, {{"LETTAGATE_POSTGRES_DNS_FILE", "/run/secrets/x"}});
  REQUIRE(secret.error);
  CHECK_THAT(secret.error->message, Catch::Contains("LETTAGATE_POSTGRES_DSN_FILE"));
  CHECK_THAT(secret.error->str(), !Catch::Contains("/run/secrets/x"));
  auto far = parse({}, {{"LETTAGATE_FROBNICATE", "1"}});
  REQUIRE(far.error);
  CHECK(far.error->message == "not a setting (see lettagate help)");
  // The compose files' own variables are not settings and not errors; other prefixes are not ours.
  CHECK(parse({}, {{"LETTAGATE_TAG", "local"}, {"LETTAGATE_PORT", "8080"}, {"LETTA_PG_URI", "x"}}).config);
  CHECK_THAT(error_of({"--letta-urll", "http://x:1"}), Catch::Contains("did you mean --letta-url?"));
}

TEST_CASE("_FILE variants: an oversized file or one holding a NUL byte is refused by path", "[unit][config][secrets]") {
  TempFile big(std::string(64 * 1024 + 1, 'x'));
  TempFile nul(std::string("pw-Sec\0ret", 10));
  for (const auto* f : {&big, &nul}) {
    auto r = parse({}, {{"LETTAGATE_LETTA_TOKEN_FILE", f->path}});
    REQUIRE(r.error);
    CHECK(r.error->setting == "--letta-token-file (LETTAGATE_LETTA_TOKEN_FILE)");
    CHECK_THAT(r.error->message, Catch::Contains(f->path));
    CHECK_THAT(r.error->message, !Catch::Contains("pw-Sec"));
  }
}

// The probe runs libpq's parser again on the DSN as given; its message quotes a malformed URI
// whole. The reason goes through the same redaction as the configuration errors.
TEST_CASE("the postgres probe's reasons that quote libpq never show the password", "[unit][redaction]") {
  std::string load_error;
  REQUIRE(lg::libpq::load(&load_error));
  uv_loop_t loop;
  uv_loop_init(&loop);
  std::optional<lg::probes::pg::PgReply> reply;
  lg::probes::pg::PgAttempt::start(&loop, "postgresql://letta:Run-Secret9@[::1/letta", "select 1",
                                   [&](lg::probes::pg::PgReply r) { reply = std::move(r); });
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  REQUIRE(reply);
  REQUIRE(reply->failure);
  INFO(reply->failure->message);
  CHECK_THAT(reply->failure->message, Catch::Contains("invalid connection string"));
  CHECK_THAT(reply->failure->message, Catch::Contains("postgresql://letta:***@[::1/letta"));
  CHECK_THAT(reply->failure->message, !Catch::Contains("Run-Secret9"));
}
