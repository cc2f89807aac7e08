// /metrics VALUES of a running `lettagate serve` against the real stack of scripts/services:
// the raw probe gauges, the counters, the damped state, the gate, and the facts the probes
// learnt (compared with what psql, redis-cli and curl say, never hard-coded); then Letta
// failing and coming back, seen in single scrapes so every assertion holds at one instant.
#include <catch2/catch.hpp>
#include <string>

#include "integration/gate_harness.hpp"
#include "integration/probe_harness.hpp"
#include "integration/stack_facts.hpp"

using lgtest::Gate;
using lgtest::Labels;
using lgtest::Scrape;

namespace {

const char* kComponents[] = {"letta", "postgres", "redis", "nginx"};

Labels of(const std::string& component) { return {{"component", component}}; }

double failures(const Scrape& m, const std::string& component) {
  double n = 0;
  for (const auto& s : m.all("lettagate_probe_failures_total", of(component))) n += s.value;
  return n;
}

// Every attempt ends in a success or a failure by reason; at most one is in flight.
void check_counters_balance(const Scrape& m, const std::string& c) {
  INFO("component " << c);
  const double attempts = m.counter("lettagate_probe_attempts_total", of(c));
  const double done = m.counter("lettagate_probe_successes_total", of(c)) + failures(m, c);
  CHECK(attempts >= done);
  CHECK(attempts <= done + 1);
  // The latency histogram observed every finished attempt.
  CHECK(m.get("lettagate_probe_latency_seconds_count", of(c)) == done);
}

// The damped state as the two gauges show it: lettagate_component_up and one series per state.
void check_state(const Scrape& m, const std::string& c, const std::string& state) {
  INFO("component " << c << " expected " << state);
  CHECK(m.get("lettagate_component_up", of(c)) == (state == "up" || state == "degraded" ? 1 : 0));
  for (const char* s : {"unknown", "up", "degraded", "down"})
    CHECK(m.get("lettagate_component_status", {{"component", c}, {"status", s}}) == (state == s ? 1 : 0));
}

std::string stack_args() {
  return "--letta-url " + lgtest::env("LG_LETTA_URL") + " --postgres-dsn " + lgtest::env("LG_PG_DSN") +
         " --redis-url redis://127.0.0.1:" + lgtest::env("LG_REDIS_PORT") + " --nginx-url " +
         lgtest::env("LG_NGINX_URL") + " --nginx-interval 2s --nginx-timeout 1500ms --postgres-interval 1s --postgres-timeout 1s" +
         " --probe-interval 300ms --probe-timeout 250ms --probe-jitter 0 ";
}

}  // namespace

TEST_CASE("metrics: values of a ready gate match the real stack", "[stack][metrics]") {
  Gate g(stack_args());
  INFO(g.process->log());
  REQUIRE(g.wait_readyz(200, 10000));
  // The facts, from the services' own clients.
  const double agents = std::stod(lgtest::pg_live_agents());
  const std::string pgvector = lgtest::pg_vector_version(), role = lgtest::redis_role(),
                    version = lgtest::letta_version();
  REQUIRE(!pgvector.empty());

  auto first = g.wait_metrics([](const Scrape& m) {
    for (const char* c : kComponents)
      if (m.get("lettagate_component_up", of(c)) != 1) return false;
    return m.get("letta_agents").has_value();
  }, 10000);
  REQUIRE(first);
  const Scrape& m = *first;
  INFO(m.text());
  CHECK(m.get("lettagate_ready") == 1);
  CHECK(m.get("lettagate_degraded") == 0);
  CHECK(m.get("lettagate_draining") == 0);
  for (const char* c : kComponents) {
    INFO("component " << c);
    CHECK(m.get("probe_success", of(c)) == 1);
    check_state(m, c, "up");
    const double duration = m.get("probe_duration_seconds", of(c)).value_or(-1);
    CHECK(duration > 0);
    CHECK(duration < 1.5);  // each attempt is cut at its timeout, 1.5 s at most here
    CHECK(m.counter("lettagate_probe_successes_total", of(c)) >= 1);
    CHECK(failures(m, c) == 0);
    check_counters_balance(m, c);
    // unknown -> up, once; never down.
    CHECK(m.get("lettagate_component_transitions_total", {{"component", c}, {"to", "up"}}) == 1);
    CHECK(m.counter("lettagate_component_transitions_total", {{"component", c}, {"to", "down"}}) == 0);
  }
  // HTTP status: only the HTTP components have one.
  CHECK(m.get("probe_http_status_code", of("letta")) == 200);
  CHECK(m.get("probe_http_status_code", of("nginx")) == 200);
  CHECK_FALSE(m.get("probe_http_status_code", of("postgres")));
  CHECK_FALSE(m.get("probe_http_status_code", of("redis")));
  // What the probes learnt, as the services themselves report it.
  CHECK(m.get("letta_agents") == agents);
  CHECK(m.get("letta_server_info", {{"version", version}}) == 1);
  CHECK(m.all("letta_server_info").size() == 1);
  CHECK(m.get("letta_pgvector_info", {{"version", pgvector}}) == 1);
  CHECK(m.all("letta_pgvector_info").size() == 1);
  CHECK(m.get("letta_redis_info", {{"role", role}}) == 1);
  CHECK(m.all("letta_redis_info").size() == 1);

  // The counters keep counting: a few intervals later every component has more attempts and
  // more successes.
  auto later = g.wait_metrics([&](const Scrape& n) {
    for (const char* c : kComponents) {
      if (n.counter("lettagate_probe_successes_total", of(c)) < m.counter("lettagate_probe_successes_total", of(c)) + 2)
        return false;
    }
    return true;
  }, 10000);
  REQUIRE(later);
  for (const char* c : kComponents) {
    INFO("component " << c);
    CHECK(later->counter("lettagate_probe_attempts_total", of(c)) > m.counter("lettagate_probe_attempts_total", of(c)));
    CHECK(failures(*later, c) == 0);
    check_counters_balance(*later, c);
  }
}

TEST_CASE("metrics: a failing component: raw result at once, damped state after --probe-fall, reason and transitions",
          "[stack][serial][metrics]") {
  // Letta fails (HTTP 500); Redis, probed by the same process, stays up throughout.
  const int fall = 3;
  Gate g(lgtest::letta_only() + "--redis-url redis://127.0.0.1:" + lgtest::env("LG_REDIS_PORT") +
         " --probe-interval 300ms --probe-timeout 250ms --probe-jitter 0 --probe-fall " + std::to_string(fall) +
         " --probe-rise 2");
  INFO(g.process->log());
  REQUIRE(g.wait_readyz(200, 10000));
  const Scrape before = g.metrics();
  const Labels to_up{{"component", "letta"}, {"to", "up"}}, to_down{{"component", "letta"}, {"to", "down"}};
  REQUIRE(before.get("lettagate_component_transitions_total", to_up) == 1);

  std::optional<lgtest::StandinMode> mode;
  mode.emplace("500");
  const Labels http_5xx{{"component", "letta"}, {"reason", "http_5xx"}};
  // Failed, but fewer than `fall` times: the raw gauge says 0, the damped state is still up.
  auto early = g.wait_metrics([&](const Scrape& m) { return m.counter("lettagate_probe_failures_total", http_5xx) >= 1; },
                              5000);
  REQUIRE(early);
  {
    INFO(early->text());
    REQUIRE(early->counter("lettagate_probe_failures_total", http_5xx) < fall);
    CHECK(early->get("probe_success", of("letta")) == 0);
    CHECK(early->get("probe_http_status_code", of("letta")) == 500);
    check_state(*early, "letta", "up");
    CHECK(early->get("lettagate_ready") == 1);
    CHECK(early->counter("lettagate_component_transitions_total", to_down) == 0);
  }

  // After `fall` failures: down, one transition to down, the gate not ready; Redis untouched.
  auto down = g.wait_metrics([](const Scrape& m) { return m.get("lettagate_component_up", of("letta")) == 0; }, 5000);
  REQUIRE(down);
  {
    INFO(down->text());
    CHECK(down->counter("lettagate_probe_failures_total", http_5xx) >= fall);
    CHECK(failures(*down, "letta") == down->counter("lettagate_probe_failures_total", http_5xx));  // no other reason
    CHECK(down->get("probe_success", of("letta")) == 0);
    CHECK(down->get("probe_http_status_code", of("letta")) == 500);
    check_state(*down, "letta", "down");
    CHECK(down->get("lettagate_component_transitions_total", to_down) == 1);
    CHECK(down->get("lettagate_component_transitions_total", to_up) == 1);
    CHECK(down->get("lettagate_ready") == 0);
    CHECK(down->get("probe_success", of("redis")) == 1);
    check_state(*down, "redis", "up");
    CHECK(failures(*down, "redis") == 0);
    check_counters_balance(*down, "letta");
    // The version learnt before stays reported.
    CHECK(down->all("letta_server_info").size() == 1);
  }

  // Letta back: raw success at once, up again after `rise` successes, a second transition to up.
  const double successes_down = down->counter("lettagate_probe_successes_total", of("letta"));
  mode.reset();
  auto up = g.wait_metrics([](const Scrape& m) { return m.get("lettagate_component_up", of("letta")) == 1; }, 5000);
  REQUIRE(up);
  INFO(up->text());
  CHECK(up->counter("lettagate_probe_successes_total", of("letta")) >= successes_down + 2);
  CHECK(up->get("probe_success", of("letta")) == 1);
  CHECK(up->get("probe_http_status_code", of("letta")) == 200);
  check_state(*up, "letta", "up");
  CHECK(up->get("lettagate_component_transitions_total", to_up) == 2);
  CHECK(up->get("lettagate_component_transitions_total", to_down) == 1);
  CHECK(up->get("lettagate_ready") == 1);
  check_counters_balance(*up, "letta");
  CHECK(g.readyz() == 200);
}
