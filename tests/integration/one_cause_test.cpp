// One cause, one alert, against the real servers: `lettagate serve` with Letta (the stand-in)
// stopped says nginx is down because of it (reason, reason_code upstream_down and
// lettagate_component_blocked_by); with PostgreSQL stopped, letta_agents is dropped and /status
// marks the agent count as last seen. These stop shared services: [serial].
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "integration/gate_harness.hpp"
#include "support/test_env.hpp"

using lgtest::comp;
using lgtest::Gate;
using nlohmann::json;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A service stopped for the guard's lifetime and started again afterwards, also on failure.
class Stopped {
 public:
  explicit Stopped(std::string name) : name_(std::move(name)) { lgtest::services("stop " + name_); }
  ~Stopped() { lgtest::run(lgtest::source_dir() + "/scripts/services start " + name_, 120); }
  Stopped(const Stopped&) = delete;
  Stopped& operator=(const Stopped&) = delete;

 private:
  std::string name_;
};

const char* kFast = " --probe-interval 300ms --probe-timeout 300ms --probe-rise 1 --probe-fall 1";
const lgtest::Labels kBlocked{{"component", "nginx"}, {"by", "letta"}};

}  // namespace

TEST_CASE("one cause: nginx down because Letta is down names Letta as the one cause", "[stack][serial][nginx]") {
  Gate g("--letta-url " + lgtest::env("LG_LETTA_URL") + " --nginx-url " + lgtest::env("LG_NGINX_URL") +
         " --postgres-dsn off --redis-url off" + kFast);
  REQUIRE(g.wait_readyz(200, 10000));
  CHECK(g.metrics().all("lettagate_component_blocked_by").empty());
  {
    Stopped letta("letta");
    json s = g.wait_status([](const json& s) { return comp(s, "nginx")["reason_code"] == "upstream_down"; }, 10000);
    INFO(s.dump(2) << g.process->log());
    REQUIRE(s.is_object());
    CHECK(comp(s, "letta")["status"] == "down");
    const std::string reason = comp(s, "nginx")["reason"];
    CHECK(reason.rfind("upstream letta is down: ", 0) == 0);
    // Letta's own reason, quoted: refused, or reset when the probe that the end of the held
    // keep-alive connection set off met the stand-in still shutting down.
    CHECK((contains(reason, "refused") || contains(reason, "reset")));
    CHECK(contains(reason, "HTTP 502"));  // what nginx answered
    auto m = g.wait_metrics([](const lgtest::Scrape& m) { return m.get("lettagate_component_blocked_by", kBlocked) == 1.0; },
                            5000);
    REQUIRE(m);
    CHECK(m->counter("lettagate_probe_failures_total", {{"component", "nginx"}, {"reason", "upstream_down"}}) > 0);
  }
  REQUIRE(g.wait_readyz(200, 20000));
  auto after = g.wait_metrics([](const lgtest::Scrape& m) { return m.get("lettagate_component_blocked_by", kBlocked) == 0.0; },
                              5000);
  CHECK(after);
}

TEST_CASE("one cause: Postgres down drops letta_agents and marks the count last seen", "[stack][serial][postgres]") {
  Gate g("--letta-url off --nginx-url off --redis-url off --postgres-dsn '" + lgtest::env("LG_PG_DSN") + "'" + kFast);
  const double agents = std::stod(lgtest::env("LG_PG_AGENTS"));
  REQUIRE(g.wait_metrics([&](const lgtest::Scrape& m) { return m.get("letta_agents") == agents; }, 10000));
  {
    Stopped pg("postgres");
    json s = g.wait_status([](const json& s) { return comp(s, "postgres")["status"] == "down"; }, 10000);
    INFO(s.dump(2));
    REQUIRE(s.is_object());
    CHECK(comp(s, "postgres")["info"]["agents"] == lgtest::env("LG_PG_AGENTS"));
    REQUIRE(comp(s, "postgres")["info_last_seen"].contains("agents"));
    CHECK(comp(s, "postgres")["info_last_seen"]["agents"].get<double>() < comp(s, "postgres")["last_check"].get<double>());
    auto m = g.metrics();
    INFO(m.text());
    CHECK_FALSE(m.get("letta_agents").has_value());
  }
  REQUIRE(g.wait_metrics([&](const lgtest::Scrape& m) { return m.get("letta_agents") == agents; }, 20000));
  json s = g.status();
  CHECK(comp(s, "postgres")["info_last_seen"] == json::object());
}
