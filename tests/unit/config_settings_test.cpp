// The settings table and where values come from (src/config/settings_table, config,
// repeatable_settings, nearest_name): defaults, flags over LETTAGATE_* variables, off, the
// repeatable --forward and --tcp-check, --help, unknown names.
#include <catch2/catch.hpp>

#include "support/config_parse.hpp"

using lgtest::error_of;
using lgtest::parse;

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

TEST_CASE("a bad environment value names the variable", "[unit][config]") {
  std::string e = error_of({}, {{"LETTAGATE_PROBE_FALL", "many"}});
  CHECK_THAT(e, Catch::Contains("LETTAGATE_PROBE_FALL"));
  CHECK_THAT(e, Catch::Contains("'many'"));
}

TEST_CASE("config: --help lists every setting with its variable and default, secrets redacted", "[unit][config]") {
  std::string h = lg::config::config_help();
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
