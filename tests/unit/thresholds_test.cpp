#include <catch2/catch.hpp>

#include "app/health_documents.hpp"
#include "probes/health_state.hpp"
#include "probes/thresholds.hpp"

using namespace lg::probes;

namespace {
// Feeds results through count/next_status like the runner does.
struct Sim {
  Status status = Status::Unknown;
  Counts counts;
  int rise, fall;
  Sim(int r, int f) : rise(r), fall(f) {}
  Status feed(bool ok, bool degraded = false, bool grace = false) {
    counts = count(counts, ok);
    status = next_status(status, counts, degraded, rise, fall, grace);
    return status;
  }
};
}  // namespace

TEST_CASE("from unknown one result decides (as Envoy does at startup)", "[unit][thresholds]") {
  Sim up(2, 3);
  CHECK(up.feed(true) == Status::Up);
  Sim down(2, 3);
  CHECK(down.feed(false) == Status::Down);
}

TEST_CASE("fall failures in a row take an up component down", "[unit][thresholds]") {
  Sim s(2, 3);
  s.feed(true);
  CHECK(s.feed(false) == Status::Up);
  CHECK(s.feed(false) == Status::Up);
  CHECK(s.feed(true) == Status::Up);  // a success resets the failure count
  CHECK(s.feed(false) == Status::Up);
  CHECK(s.feed(false) == Status::Up);
  CHECK(s.feed(false) == Status::Down);
}

TEST_CASE("rise successes in a row bring a down component back", "[unit][thresholds]") {
  Sim s(3, 1);
  CHECK(s.feed(false) == Status::Down);
  CHECK(s.feed(true) == Status::Down);
  CHECK(s.feed(true) == Status::Down);
  CHECK(s.feed(false) == Status::Down);
  CHECK(s.feed(true) == Status::Down);
  CHECK(s.feed(true) == Status::Down);
  CHECK(s.feed(true) == Status::Up);
}

TEST_CASE("grace keeps a failing component unknown, degraded is still up", "[unit][thresholds]") {
  Sim s(1, 1);
  CHECK(s.feed(false, false, true) == Status::Unknown);
  CHECK(s.feed(false, false, true) == Status::Unknown);
  CHECK(s.feed(false, false, false) == Status::Down);
  Sim d(1, 2);
  CHECK(d.feed(true, true) == Status::Degraded);
  CHECK(d.feed(true, false) == Status::Up);
}

TEST_CASE("the gate: required components decide, optional ones only degrade", "[unit][health]") {
  HealthState h;
  const lg::app::ReadyzDocument readyz(h);  // one cache, as the server holds it
  auto& letta = h.add("letta", true, "t");
  auto& redis = h.add("redis", false, "t");
  CHECK(h.gate() == Gate::NotReady);
  h.record(letta, Outcome::success(), 2, 3, false);
  CHECK(h.gate() == Gate::Ready);
  CHECK(h.degraded());  // redis is optional and unknown
  h.record(redis, Outcome::failure("refused", "connection refused"), 2, 3, false);
  CHECK(h.gate() == Gate::Ready);
  CHECK(h.degraded());
  h.record(redis, Outcome::success(), 2, 3, false);
  CHECK(h.degraded());  // rise 2: one success is not enough to come back
  h.record(redis, Outcome::success(), 2, 3, false);
  CHECK_FALSE(h.degraded());
  h.set_draining();
  CHECK(h.gate() == Gate::Draining);
  std::string j = readyz.json();
  CHECK_THAT(j, Catch::Contains("\"status\":\"draining\""));
  CHECK_THAT(j, Catch::Contains("\"reason\":\"draining\""));
}

TEST_CASE("readyz JSON has a status and a reason per component, listeners see transitions", "[unit][health]") {
  HealthState h;
  const lg::app::ReadyzDocument readyz(h);  // one cache, as the server holds it
  auto& pg = h.add("postgres", true, "t");
  int seen = 0;
  h.subscribe([&](const Component& c, Status prev) {
    ++seen;
    CHECK(c.name == "postgres");
    CHECK(prev == Status::Unknown);
  });
  CHECK(h.record(pg, Outcome::failure("too_few_agents", "letta database has 0 agents"), 2, 3, false));
  CHECK_FALSE(h.record(pg, Outcome::failure("too_few_agents", "letta database has 0 agents"), 2, 3, false));
  CHECK(seen == 1);
  std::string j = readyz.json();
  CHECK(j == R"({"components":{"postgres":{"reason":"letta database has 0 agents","status":"down"}},"degraded":false,"status":"not_ready"})");
  CHECK_THAT(lg::app::StatusDocument(h).json(), Catch::Contains("\"reason_code\":\"too_few_agents\""));
}

TEST_CASE("the cached readyz body follows every change of status, reason and draining", "[unit][health]") {
  HealthState h;
  const lg::app::ReadyzDocument readyz(h);  // one cache, as the server holds it
  CHECK(readyz.json() == R"({"components":{},"degraded":false,"status":"ready"})");
  auto& pg = h.add("postgres", true, "t");
  CHECK_THAT(readyz.json(), Catch::Contains("\"reason\":\"no probe result yet\",\"status\":\"unknown\""));
  h.record(pg, Outcome::failure("refused", "connection refused"), 2, 1, false);
  CHECK_THAT(readyz.json(), Catch::Contains("\"reason\":\"connection refused\",\"status\":\"down\""));
  // Same status, new reason: the body changes too.
  h.record(pg, Outcome::failure("timeout", "timed out after 500 ms"), 2, 1, false);
  CHECK_THAT(readyz.json(), Catch::Contains("\"reason\":\"timed out after 500 ms\",\"status\":\"down\""));
  h.add("redis", false, "t");
  CHECK_THAT(readyz.json(), Catch::Contains("\"redis\":{\"reason\":\"no probe result yet\",\"required\":false"));
  h.record(pg, Outcome::success(), 1, 1, false);
  CHECK_THAT(readyz.json(), Catch::Contains("\"degraded\":true,\"status\":\"ready\""));
  h.set_draining();
  CHECK(readyz.json() == R"({"components":{"postgres":{"reason":"draining","status":"up"},)"
                           R"("redis":{"reason":"draining","required":false,"status":"unknown"}},)"
                           R"("degraded":true,"status":"draining"})");
}
