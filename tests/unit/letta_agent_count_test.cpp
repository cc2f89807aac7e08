// Letta's agent count (GET /v1/agents/count) judged without sockets, and the rule that sets it
// against the database's count (app/letta_database_rule).
#include <catch2/catch.hpp>

#include "app/letta_database_rule.hpp"
#include "config/config.hpp"
#include "probes/letta_agent_count.hpp"

using namespace lg::probes;

namespace {

AgentCountSpec spec(int min_agents, const std::string& token = "") {
  AgentCountSpec s;
  s.min_agents = min_agents;
  s.bearer_token = token;
  return s;
}

lg::http::ClientResponse answer(int status, const std::string& body) {
  lg::http::ClientResponse r;
  r.status = status;
  r.body = body;
  return r;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("agent count: a bare integer at or above --min-agents is ok, the count a fact", "[unit][letta]") {
  auto o = judge_agent_count(spec(3), answer(200, "3"));
  CHECK(o.ok);
  CHECK(o.facts.api_agents == 3);
  CHECK(o.reason == "3 agents");
}

TEST_CASE("agent count: below --min-agents is too_few_agents naming LETTA_PG_URI", "[unit][letta]") {
  auto o = judge_agent_count(spec(1), answer(200, "0\n"));
  CHECK_FALSE(o.ok);
  CHECK(o.reason_code == "too_few_agents");
  CHECK(o.facts.api_agents == 0);
  CHECK(contains(o.reason, "expected at least 1"));
  CHECK(contains(o.reason, "LETTA_PG_URI"));
}

TEST_CASE("agent count: 401 is auth_failed, saying whether a token was given, never printing it", "[unit][letta]") {
  auto none = judge_agent_count(spec(1), answer(401, R"({"detail":"Unauthorized"})"));
  CHECK(none.reason_code == "auth_failed");
  CHECK(none.http_status == 401);
  CHECK(contains(none.reason, "--letta-token"));
  CHECK(contains(none.reason, "LETTA_SERVER_SECURE"));
  auto wrong = judge_agent_count(spec(1, "s3cret-token"), answer(401, "{}"));
  CHECK(wrong.reason_code == "auth_failed");
  CHECK(contains(wrong.reason, "refused"));
  CHECK_FALSE(contains(wrong.reason, "s3cret-token"));
}

TEST_CASE("agent count: a body that is not a whole number is bad_body, never a crash", "[unit][letta]") {
  for (const char* body : {"", "three", "{\"count\": 3}", "3.5", "-1", "[3]", "\"3\"", "99999999999999999999999"}) {
    INFO(body);
    auto o = judge_agent_count(spec(1), answer(200, body));
    CHECK_FALSE(o.ok);
    CHECK(o.reason_code == "bad_body");
    CHECK(!o.facts.api_agents.has_value());
  }
}

TEST_CASE("agent count: a Letta without the route (404) is ok with the count unknown", "[unit][letta]") {
  auto o = judge_agent_count(spec(5), answer(404, R"({"detail":"Not Found"})"));
  CHECK(o.ok);
  CHECK(o.facts.api_agents == lg::probes::kUnknownCount);
  CHECK(contains(o.reason, "unknown"));
  auto err = judge_agent_count(spec(1), answer(500, "boom"));
  CHECK(err.reason_code == "http_5xx");
}

TEST_CASE("letta database rule: 0 through the API while the table holds some is wrong_database", "[unit][letta]") {
  Component pg;
  pg.name = "postgres";
  pg.last_ok = true;
  pg.facts.agents = 3;
  pg.facts.address = "127.0.0.1:5432";
  Outcome letta = judge_agent_count(spec(1), answer(200, "0"));
  letta.facts.version = "0.16.7";
  auto o = lg::app::apply_letta_database_rule(letta, &pg);
  CHECK(o.reason_code == "wrong_database");
  CHECK(o.reason ==
        "letta-server is not using the database at 127.0.0.1:5432 (it reports 0 agents, that database holds 3): "
        "check LETTA_PG_URI");
  CHECK(o.facts.version == "0.16.7");
  CHECK(o.facts.api_agents == 0);

  SECTION("fewer through the API than in the table is no mismatch: other organisations' agents") {
    auto fewer = lg::app::apply_letta_database_rule(judge_agent_count(spec(1), answer(200, "1")), &pg);
    CHECK(fewer.ok);
  }
  SECTION("an empty table, a failing or unprobed postgres, an unknown count: the letta verdict stands") {
    Component empty = pg;
    empty.facts.agents = 0;
    CHECK(lg::app::apply_letta_database_rule(letta, &empty).reason_code == "too_few_agents");
    Component down = pg;
    down.last_ok = false;
    CHECK(lg::app::apply_letta_database_rule(letta, &down).reason_code == "too_few_agents");
    CHECK(lg::app::apply_letta_database_rule(letta, nullptr).reason_code == "too_few_agents");
    auto unknown = judge_agent_count(spec(1), answer(404, ""));
    CHECK(lg::app::apply_letta_database_rule(unknown, &pg).ok);
    auto refused = Outcome::failure("refused", "connection refused");
    CHECK(lg::app::apply_letta_database_rule(refused, &pg).reason_code == "refused");
  }
}

TEST_CASE("config: --min-agents is shared by the postgres floor and Letta's count", "[unit][letta][config]") {
  const char* argv_[] = {"--min-agents", "2"};
  std::vector<std::string> args(argv_, argv_ + 2);
  auto r = lg::config::parse_config(
      args, [](const char*) -> const char* { return nullptr; }, [] { return std::vector<std::string>{}; });
  REQUIRE(r.config);
  CHECK(r.config->postgres.min_agents == 2);
  CHECK(r.config->letta.min_agents == 2);
  auto none = lg::config::parse_config(
      {}, [](const char*) -> const char* { return nullptr; }, [] { return std::vector<std::string>{}; });
  REQUIRE(none.config);
  CHECK(none.config->letta.min_agents == 0);
}
