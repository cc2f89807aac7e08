// Per-component schedules and the checks across settings (src/config/schedules): probe-*
// inherited and overridden, timeouts against intervals, jitter, --tcp-check's one schedule,
// listen addresses that collide.
#include <catch2/catch.hpp>

#include "support/config_parse.hpp"

using lgtest::error_of;
using lgtest::parse;

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
