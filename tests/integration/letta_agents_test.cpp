// The data guard through Letta's own API, against the real stack: `lettagate serve` and `wait`
// with --min-agents 1 and all four components. The stand-in's empty_db mode is letta-server
// started without LETTA_PG_URI (its own fresh database) while letta-postgres keeps the agents:
// the letta component is down with wrong_database, naming LETTA_PG_URI and the database's
// host:port, never its password. These switch the shared stand-in's mode: [serial].
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "integration/gate_harness.hpp"
#include "integration/probe_harness.hpp"
#include "support/test_env.hpp"

using lgtest::comp;
using lgtest::Gate;
using nlohmann::json;

namespace {

std::string stack_args() {
  return "--letta-url " + lgtest::env("LG_LETTA_URL") + " --postgres-dsn '" + lgtest::env("LG_PG_DSN") + "'" +
         " --redis-url redis://127.0.0.1:" + lgtest::env("LG_REDIS_PORT") + " --nginx-url " +
         lgtest::env("LG_NGINX_URL") + " --min-agents 1 --probe-interval 500ms --probe-timeout 500ms" +
         " --probe-rise 1 --probe-fall 1";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

const std::string kWrongDatabase = "letta-server is not using the database at 127.0.0.1:";

}  // namespace

TEST_CASE("letta agents: serve is not ready while Letta serves an empty database of its own", "[stack][serial][letta]") {
  Gate g(stack_args());
  INFO(g.process->log());
  REQUIRE(g.wait_readyz(200, 10000));
  json up = g.wait_status([](const json& s) { return comp(s, "letta")["info"].contains("api_agents"); }, 10000);
  REQUIRE(up.is_object());
  CHECK(comp(up, "letta")["info"]["api_agents"] == lgtest::env("LG_PG_AGENTS"));
  CHECK(comp(up, "letta")["reason"].get<std::string>().find("3 agents") != std::string::npos);

  {
    lgtest::StandinMode empty("empty_db");
    REQUIRE(g.wait_readyz(503, 10000));
    json s = g.wait_status([](const json& s) { return comp(s, "letta")["reason_code"] == "wrong_database"; }, 10000);
    INFO(s.dump(2));
    REQUIRE(s.is_object());
    const std::string reason = comp(s, "letta")["reason"];
    CHECK(reason == kWrongDatabase + lgtest::env("LG_PG_PORT") + " (it reports 0 agents, that database holds " +
                        lgtest::env("LG_PG_AGENTS") + "): check LETTA_PG_URI");
    CHECK(comp(s, "letta")["info"]["api_agents"] == "0");
    CHECK(comp(s, "postgres")["status"] == "up");  // the table still holds the agents
    auto ready = g.readyz_json();
    CHECK(ready["components"]["letta"]["reason"] == reason);
    const std::string all = s.dump() + ready.dump() + g.process->log();
    CHECK_FALSE(contains(all, lgtest::env("LG_PG_PASSWORD")));
  }
  CHECK(g.wait_readyz(200, 10000));
}

TEST_CASE("letta agents: wait shows the same reason and is not ready", "[stack][serial][letta]") {
  lgtest::StandinMode empty("empty_db");
  auto r = lgtest::run(lgtest::binary() + " wait --timeout 3s " + stack_args(), 30);
  INFO(r.out);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, kWrongDatabase + lgtest::env("LG_PG_PORT")));
  CHECK(contains(r.out, "check LETTA_PG_URI"));
  CHECK_FALSE(contains(r.out, lgtest::env("LG_PG_PASSWORD")));
}
