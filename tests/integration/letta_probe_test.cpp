// The Letta probe against the Letta stand-in (tests/standin/letta_standin.py), driven by the
// real ProbeRunner: every verdict, with its reason_code and reason.
#include <catch2/catch.hpp>

#include "integration/probe_harness.hpp"
#include "integration/stack_facts.hpp"
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
  lg::config::Config cfg = lgtest::config_from(args);
  return std::make_unique<ProbeHarness>("letta", cfg.letta.schedule,
                                        [&](uv_loop_t* loop) { return lg::probes::make_probe(loop, cfg.letta); });
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("letta: healthy stand-in is up with its version", "[stack][letta]") {
  auto h = letta_harness({});
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "ok");
  CHECK(c.status == Status::Up);
  CHECK(c.facts.version.value() == "0.16.7");
  CHECK(contains(c.reason, "0.16.7"));
  CHECK(c.target == "GET " + letta_url() + "/v1/health/");
}

TEST_CASE("letta: the bare /v1/health is a 307 redirect, reported as such", "[stack][letta]") {
  auto h = letta_harness({"--letta-path", "/v1/health"});
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "redirect");
  CHECK(contains(c.reason, "307"));
  // The stand-in builds Location from the Host header, as Starlette does.
  CHECK(contains(c.reason, "http://127.0.0.1:" + lgtest::env("LG_LETTA_PORT") + "/v1/health/"));
  CHECK(c.status == Status::Down);
}

TEST_CASE("letta: HTTP 500 is http_5xx", "[stack][serial][letta]") {
  StandinMode mode("500");
  auto h = letta_harness({});
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "http_5xx");
  CHECK(contains(c.reason, "HTTP 500"));
}

TEST_CASE("letta: a hanging server is cut by the runner's timeout", "[stack][serial][letta]") {
  StandinMode mode("hang");
  auto h = letta_harness({}, "300ms");
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "timeout");
  CHECK(contains(c.reason, "300ms"));
  CHECK(c.last_latency_s >= 0.29);
  CHECK(c.last_latency_s < 1.0);
}

TEST_CASE("letta: a 200 that is not Letta's JSON is bad_body", "[stack][serial][letta]") {
  StandinMode mode("bad_body");
  auto h = letta_harness({});
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "bad_body");
  CHECK(contains(c.reason, "not a JSON object"));
}

TEST_CASE("letta: slower than --letta-degraded-after is degraded, and the gate stays ready", "[stack][serial][letta]") {
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

TEST_CASE("letta: --letta-ready reports warming and draining as not_ready", "[stack][serial][letta]") {
  for (const char* word : {"warming", "draining"}) {
    SECTION(word) {
      StandinMode mode(word);
      auto h = letta_harness({"--letta-ready"});
      const auto& c = h->first_result();
      INFO(c.reason);
      CHECK(c.reason_code == "not_ready");
      CHECK(contains(c.reason, word));
      CHECK(contains(c.reason, "/v1/ready/"));
      CHECK(c.facts.version.value() == "0.16.7");  // learnt from the health answer
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

TEST_CASE("letta: a stopped server is refused", "[stack][serial][letta]") {
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

// ---- the generic HTTP options, against the stand-in's real answers ---------------------

TEST_CASE("letta: --letta-method is the method sent: Letta's GET-only health route answers 405 to others",
          "[stack][letta]") {
  // FastAPI registers /v1/health/ for GET only (no implicit HEAD): any other method is a 405
  // {"detail":"Method Not Allowed"}; the default GET gets the 200.
  for (const char* method : {"POST", "HEAD", "PUT", "OPTIONS"}) {
    SECTION(method) {
      auto h = letta_harness({"--letta-method", method});
      const auto& c = h->first_result();
      INFO(c.reason);
      CHECK(c.target == std::string(method) + " " + letta_url() + "/v1/health/");
      CHECK(c.reason_code == "http_status");
      CHECK(contains(c.reason, std::string("Letta ") + method + " /v1/health/ answered HTTP 405"));
      CHECK(c.status == Status::Down);
    }
  }
  SECTION("POST with 405 accepted and Letta's error document checked") {
    auto h = letta_harness({"--letta-method", "POST", "--letta-expect-status", "405", "--letta-expect-json",
                            "detail=Method Not Allowed"});
    const auto& c = h->first_result();
    INFO(c.reason);
    CHECK(c.reason_code == "ok");
    CHECK(c.reason == "HTTP 405");
  }
  SECTION("HEAD with 405 accepted: the empty body of a HEAD answer is complete at once") {
    auto h = letta_harness({"--letta-method", "HEAD", "--letta-expect-status", "405", "--letta-expect-json", "off"},
                           "2s");
    const auto& c = h->first_result();
    INFO(c.reason);
    CHECK(c.reason_code == "ok");
    CHECK(c.last_latency_s < 1.0);  // not waiting for the 31 bytes content-length announces
  }
}

TEST_CASE("letta: --letta-expect-status takes a list of accepted codes", "[stack][letta]") {
  SECTION("200 in the list") {
    auto h = letta_harness({"--letta-expect-status", "204,200"});
    const auto& c = h->first_result();
    INFO(c.reason);
    CHECK(c.reason_code == "ok");
    CHECK(c.status == Status::Up);
  }
  SECTION("200 not in the list") {
    auto h = letta_harness({"--letta-expect-status", "204,202"});
    const auto& c = h->first_result();
    INFO(c.reason);
    CHECK(c.reason_code == "http_status");
    CHECK(contains(c.reason, "answered HTTP 200"));
    CHECK(c.status == Status::Down);
  }
  SECTION("a redirect listed is accepted, not reported") {
    auto h = letta_harness({"--letta-path", "/v1/health", "--letta-expect-status", "200,307", "--letta-expect-json",
                            "off"});
    const auto& c = h->first_result();
    INFO(c.reason);
    CHECK(c.reason_code == "ok");
    CHECK(c.reason == "HTTP 307");
  }
}

TEST_CASE("letta: --letta-expect-body is a substring of the body", "[stack][letta]") {
  SECTION("present") {
    auto h = letta_harness({"--letta-expect-body", "\"status\":\"ok\""});
    const auto& c = h->first_result();
    INFO(c.reason);
    CHECK(c.reason_code == "ok");
    CHECK(c.status == Status::Up);
  }
  SECTION("absent: bad_body, with what was expected and what came") {
    auto h = letta_harness({"--letta-expect-body", "\"status\":\"degraded\""});
    const auto& c = h->first_result();
    INFO(c.reason);
    CHECK(c.reason_code == "bad_body");
    CHECK(contains(c.reason, "body lacks \"\"status\":\"degraded\"\""));
    CHECK(contains(c.reason, "{\"version\":\"" + lgtest::letta_version() + "\",\"status\":\"ok\"}"));
    CHECK(c.status == Status::Down);
  }
}

TEST_CASE("letta: --letta-expect-json checks one top-level field", "[stack][letta]") {
  const std::string version = lgtest::letta_version();
  SECTION("a custom field that matches") {
    auto h = letta_harness({"--letta-expect-json", "version=" + version});
    const auto& c = h->first_result();
    INFO(c.reason);
    CHECK(c.reason_code == "ok");
    CHECK(c.facts.version.value() == version);
  }
  SECTION("a value that differs") {
    auto h = letta_harness({"--letta-expect-json", "version=0.0.1"});
    const auto& c = h->first_result();
    INFO(c.reason);
    CHECK(c.reason_code == "bad_body");
    CHECK(contains(c.reason, "\"version\" is \"" + version + "\", expected \"0.0.1\""));
    CHECK(c.status == Status::Down);
  }
  SECTION("a field that is not there") {
    auto h = letta_harness({"--letta-expect-json", "agents=3"});
    const auto& c = h->first_result();
    INFO(c.reason);
    CHECK(c.reason_code == "bad_body");
    CHECK(contains(c.reason, "JSON has no \"agents\" field"));
  }
}

TEST_CASE("letta: --letta-host-header is the Host the server sees", "[stack][letta]") {
  // Starlette builds the bare path's redirect from the request's Host header: the stand-in's
  // Location shows which Host arrived.
  auto h = letta_harness({"--letta-path", "/v1/health", "--letta-host-header", "letta-server:8283"});
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "redirect");
  CHECK(contains(c.reason, "redirect to http://letta-server:8283/v1/health/"));
  CHECK(!contains(c.reason, "127.0.0.1"));
}
