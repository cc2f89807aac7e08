// The Letta probe against the Letta stand-in (tests/standin/letta_standin.py), driven by the
// real ProbeRunner: every verdict, with its reason_code and reason.
#include <catch2/catch.hpp>

#include "integration/probe_harness.hpp"
#include "probes/factories.hpp"

using lgtest::ProbeHarness;
using lgtest::StandinMode;
using lg::probes::Status;

namespace {

std::string letta_url() { return lgtest::env("LG_LETTA_URL"); }

// A harness probing the stand-in with the given extra flags; one attempt every second at most
// (the tests wait for the first result), cut after `timeout`.
std::unique_ptr<ProbeHarness> letta_harness(std::vector<std::string> flags, const char* timeout = "1s") {
  std::vector<std::string> args{"--letta-url", letta_url(), "--letta-interval", "2s", "--letta-timeout", timeout};
  args.insert(args.end(), flags.begin(), flags.end());
  lg::Config cfg = lgtest::config_from(args);
  return std::make_unique<ProbeHarness>("letta", cfg.letta.schedule,
                                        [&](uv_loop_t* loop) { return lg::probes::make_letta_probe(loop, cfg.letta); });
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("letta: healthy stand-in is up with its version", "[integration][letta]") {
  auto h = letta_harness({});
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "ok");
  CHECK(c.status == Status::Up);
  CHECK(c.info.at("version") == "0.16.7");
  CHECK(contains(c.reason, "0.16.7"));
  CHECK(c.target == "GET " + letta_url() + "/v1/health/");
}

TEST_CASE("letta: the bare /v1/health is a 307 redirect, reported as such", "[integration][letta]") {
  auto h = letta_harness({"--letta-path", "/v1/health"});
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "redirect");
  CHECK(contains(c.reason, "307"));
  // The stand-in builds Location from the Host header, as Starlette does.
  CHECK(contains(c.reason, "http://127.0.0.1:" + lgtest::env("LG_LETTA_PORT") + "/v1/health/"));
  CHECK(c.status == Status::Down);
}

TEST_CASE("letta: HTTP 500 is http_5xx", "[integration][letta]") {
  StandinMode mode("500");
  auto h = letta_harness({});
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "http_5xx");
  CHECK(contains(c.reason, "HTTP 500"));
}

TEST_CASE("letta: a hanging server is cut by the runner's timeout", "[integration][letta]") {
  StandinMode mode("hang");
  auto h = letta_harness({}, "300ms");
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "timeout");
  CHECK(contains(c.reason, "300ms"));
  CHECK(c.last_latency_s >= 0.29);
  CHECK(c.last_latency_s < 1.0);
}

TEST_CASE("letta: a 200 that is not Letta's JSON is bad_body", "[integration][letta]") {
  StandinMode mode("bad_body");
  auto h = letta_harness({});
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "bad_body");
  CHECK(contains(c.reason, "not a JSON object"));
}

TEST_CASE("letta: slower than --letta-degraded-after is degraded, and the gate stays ready", "[integration][letta]") {
  StandinMode mode("slow", "?ms=300");
  auto h = letta_harness({"--letta-degraded-after", "100ms"}, "2s");
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "ok");
  CHECK(c.status == Status::Degraded);
  CHECK(contains(c.reason, "slow"));
  CHECK(c.last_latency_s >= 0.3);
  CHECK(h->health().gate() == lg::probes::Gate::Ready);
  CHECK(h->health().degraded());
}

TEST_CASE("letta: --letta-ready reports warming and draining as not_ready", "[integration][letta]") {
  for (const char* word : {"warming", "draining"}) {
    SECTION(word) {
      StandinMode mode(word);
      auto h = letta_harness({"--letta-ready"});
      const auto& c = h->first_result();
      INFO(c.reason);
      CHECK(c.reason_code == "not_ready");
      CHECK(contains(c.reason, word));
      CHECK(contains(c.reason, "/v1/ready/"));
      CHECK(c.info.at("version") == "0.16.7");  // learnt from the health answer
      CHECK(c.status == Status::Down);
    }
  }
  SECTION("ready") {
    auto h = letta_harness({"--letta-ready"});
    const auto& c = h->first_result();
    INFO(c.reason);
    CHECK(c.reason_code == "ok");
    CHECK(contains(c.reason, "ready"));
  }
}

TEST_CASE("letta: a stopped server is refused", "[integration][letta]") {
  {
    lgtest::ServiceStopped stopped("letta");
    auto h = letta_harness({});
    const auto& c = h->first_result();
    INFO(c.reason);
    CHECK(c.reason_code == "refused");
    CHECK(contains(c.reason, "connection refused"));
    CHECK(contains(c.reason, "127.0.0.1:" + lgtest::env("LG_LETTA_PORT")));
    REQUIRE(stopped.restart());
  }
  auto h = letta_harness({});
  CHECK(h->first_result().reason_code == "ok");
}
