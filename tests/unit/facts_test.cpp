// Typed facts and what is built on them (socket-free): the text /status shows for each fact, a
// fact kept from an earlier check marked last seen, letta_agents dropped while the count is
// unknown, nginx's gateway errors put down to a down Letta, and a Redis replica judged down.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "app/health_documents.hpp"
#include "app/upstream_rule.hpp"
#include "metrics/registry.hpp"
#include "probes/facts.hpp"
#include "probes/health_state.hpp"
#include "probes/probe_metrics.hpp"
#include "probes/redis_reply.hpp"

using lg::probes::Component;
using lg::probes::Facts;
using lg::probes::HealthState;
using lg::probes::Outcome;
using lg::probes::Status;
using nlohmann::json;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

Outcome with_facts(Outcome o, Facts f) {
  o.facts = std::move(f);
  return o;
}

}  // namespace

TEST_CASE("facts: /status renders each fact as the text it always showed", "[unit][facts]") {
  Facts f;
  f.version = "0.16.7";
  f.agents = 3;
  f.api_agents = lg::probes::kUnknownCount;
  f.first_event_ms = 404.6;
  f.address = "127.0.0.1:5432";
  const json j = lg::probes::facts_json(f);
  CHECK(j == json{{"version", "0.16.7"}, {"agents", "3"}, {"api_agents", "unknown"}, {"first_event_ms", "405"},
                  {"address", "127.0.0.1:5432"}});
  CHECK(lg::probes::facts_json(Facts{}) == json::object());
  CHECK(Facts{}.empty());
  CHECK_FALSE(f.empty());

  Facts health;
  health.version = "0.16.6";
  health.letta_version = "0.16.7";
  f.fill_from(health);  // only what is missing
  CHECK(f.version == "0.16.7");
  CHECK(f.letta_version == "0.16.7");
}

TEST_CASE("facts: one the latest check did not report is kept as last seen, a success drops it", "[unit][facts]") {
  HealthState h;
  Component& pg = h.add("postgres", true, "postgresql://letta@db/letta");
  Facts full;
  full.agents = 3;
  full.pgvector = "0.8.0";
  full.server_version = "15.20";
  h.record(pg, with_facts(Outcome::success(), full), 1, 1, false);
  REQUIRE(pg.status == Status::Up);
  json j;
  lg::app::add_facts_json(j, pg);
  CHECK(j["info"]["agents"] == "3");
  CHECK(j["info_last_seen"] == json::object());

  // Down: the failure reports nothing; every fact is from the success before, and says when.
  h.record(pg, Outcome::failure("refused", "connection refused by db:5432"), 1, 1, false);
  REQUIRE(pg.status == Status::Down);
  json down;
  lg::app::add_facts_json(down, pg);
  CHECK(down["info"]["agents"] == "3");
  REQUIRE(down["info_last_seen"].contains("agents"));
  CHECK(down["info_last_seen"]["agents"].get<double>() <= pg.last_check);
  CHECK(down["info_last_seen"].size() == 3);

  // A failure that reports a fact makes that one current again.
  Facts counted;
  counted.agents = 0;
  h.record(pg, with_facts(Outcome::failure("too_few_agents", "0 live agents"), counted), 1, 1, false);
  json few;
  lg::app::add_facts_json(few, pg);
  CHECK(few["info"]["agents"] == "0");
  CHECK_FALSE(few["info_last_seen"].contains("agents"));
  CHECK(few["info_last_seen"].contains("pgvector"));

  // A success states its facts whole: pgvector no longer reported is gone, not kept as stale.
  Facts no_vector = full;
  no_vector.pgvector.reset();
  h.record(pg, with_facts(Outcome::success(), no_vector), 1, 1, false);
  json up;
  lg::app::add_facts_json(up, pg);
  CHECK_FALSE(up["info"].contains("pgvector"));
  CHECK(up["info_last_seen"] == json::object());
}

TEST_CASE("facts: letta_agents is dropped, not repeated, while Postgres cannot count", "[unit][facts][metrics]") {
  lg::metrics::Registry r;
  HealthState h;
  lg::probes::ProbeMetrics m(r, h);
  Component& pg = h.add("postgres", true, "db");
  const lg::config::Reports reports{.agents = true};
  Facts f;
  f.agents = 7;
  m.observe(pg, with_facts(Outcome::success(), f), reports);
  CHECK(contains(r.expose(), "\nletta_agents 7\n"));
  m.observe(pg, Outcome::failure("refused", "connection refused"), reports);
  CHECK_FALSE(contains(r.expose(), "\nletta_agents "));
  m.observe(pg, with_facts(Outcome::success(), f), reports);
  CHECK(contains(r.expose(), "\nletta_agents 7\n"));
}

TEST_CASE("one cause: nginx's gateway error while Letta is down is Letta's", "[unit][facts][nginx]") {
  Component letta;
  letta.name = "letta";
  letta.status = Status::Down;
  letta.last_check = 1;
  letta.reason = "connection refused by 127.0.0.1:8283";
  Outcome bad_gateway = Outcome::failure("http_5xx", "nginx GET http://nginx/v1/health/ answered HTTP 502");
  bad_gateway.http_status = 502;
  bad_gateway.facts.first_event_ms = 12;

  const Outcome o = lg::app::apply_upstream_rule(bad_gateway, &letta);
  CHECK(o.reason_code == "upstream_down");
  CHECK(o.blocked_by == "letta");
  CHECK(o.reason ==
        "upstream letta is down: connection refused by 127.0.0.1:8283 (nginx: nginx GET http://nginx/v1/health/ "
        "answered HTTP 502)");
  CHECK(o.http_status == 502);
  CHECK(o.facts.first_event_ms == 12);

  SECTION("Letta's latest raw result failing is enough (neither waits for the other's fall)") {
    Component failing = letta;
    failing.status = Status::Up;
    failing.last_ok = false;
    CHECK(lg::app::apply_upstream_rule(bad_gateway, &failing).blocked_by == "letta");
  }
  SECTION("nginx's own faults stay nginx's") {
    Outcome refused = Outcome::failure("refused", "connection refused by 127.0.0.1:8284");
    CHECK(lg::app::apply_upstream_rule(refused, &letta).reason_code == "refused");
    Outcome missing = Outcome::failure("http_status", "answered HTTP 404");
    missing.http_status = 404;
    CHECK(lg::app::apply_upstream_rule(missing, &letta).blocked_by.empty());
    Component up = letta;
    up.status = Status::Up;
    up.last_ok = true;
    CHECK(lg::app::apply_upstream_rule(bad_gateway, &up).reason_code == "http_5xx");
    CHECK(lg::app::apply_upstream_rule(bad_gateway, nullptr).reason_code == "http_5xx");
    CHECK(lg::app::apply_upstream_rule(Outcome::success(), &letta).ok);
  }
}

TEST_CASE("one cause: lettagate_component_blocked_by is 1 while blocked, 0 after", "[unit][facts][metrics]") {
  lg::metrics::Registry r;
  HealthState h;
  lg::probes::ProbeMetrics m(r, h);
  Component& nginx = h.add("nginx", true, "nginx");
  m.observe(nginx, Outcome::failure("refused", "refused"), {});
  CHECK_FALSE(contains(r.expose(), "lettagate_component_blocked_by{"));
  Outcome blocked = Outcome::failure("upstream_down", "upstream letta is down: ...");
  blocked.blocked_by = "letta";
  m.observe(nginx, blocked, {});
  CHECK(contains(r.expose(), "lettagate_component_blocked_by{component=\"nginx\",by=\"letta\"} 1\n"));
  m.observe(nginx, Outcome::success(), {});
  CHECK(contains(r.expose(), "lettagate_component_blocked_by{component=\"nginx\",by=\"letta\"} 0\n"));
}

TEST_CASE("redis: a replica is down for Letta unless allowed", "[unit][redis]") {
  const auto info = lg::probes::parse_info(
      "# Server\r\nredis_version:7.0.15\r\n# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\n"
      "master_port:6379\r\nmaster_link_status:up\r\n");
  CHECK(info.master_host == "127.0.0.1");
  const Outcome seen = lg::probes::success_outcome(info);
  CHECK(seen.reason == "PONG, role slave of 127.0.0.1:6379, redis 7.0.15");
  const Outcome down = lg::probes::judge_replica(seen, false);
  CHECK_FALSE(down.ok);
  CHECK(down.reason_code == "replica");
  CHECK(down.reason ==
        "Redis is a read-only replica (PONG, role slave of 127.0.0.1:6379, redis 7.0.15): Letta writes to Redis; "
        "point LETTA_REDIS_HOST and --redis-url at the master, or set --redis-allow-replica");
  CHECK(down.facts.role == "slave");
  CHECK(lg::probes::judge_replica(seen, true).ok);
  const Outcome master = lg::probes::success_outcome(lg::probes::parse_info("role:master\r\n"));
  CHECK(lg::probes::judge_replica(master, false).ok);
}
