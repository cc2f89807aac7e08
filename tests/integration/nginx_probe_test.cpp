// The nginx probe through the real nginx of scripts/services: the SSE-correct proxy
// (LG_NGINX_PORT, the app stack's letta-sse.conf) and the buffering one (LG_NGINX_BUFFERED_PORT),
// both in front of the Letta stand-in. Driven by the real ProbeRunner.
#include <catch2/catch.hpp>

#include "integration/probe_harness.hpp"
#include "probes/factories.hpp"

using lgtest::ProbeHarness;
using lg::probes::Status;

namespace {

const char* kStream = "/_standin/sse?events=5&interval_ms=300&hold_s=10";
const char* kLettaBody = R"({"messages":[{"role":"user","content":"hello"}],"streaming":true})";

std::string nginx_url(const char* port_var = "LG_NGINX_PORT") { return "http://127.0.0.1:" + lgtest::env(port_var); }

// A harness probing nginx with the given flags; the timeout leaves room for a 1s SSE deadline.
std::unique_ptr<ProbeHarness> nginx_harness(const std::string& url, std::vector<std::string> flags) {
  std::vector<std::string> args{"--nginx-url", url, "--nginx-interval", "3s", "--nginx-timeout", "2s",
                                "--sse-deadline", "1s"};
  args.insert(args.end(), flags.begin(), flags.end());
  lg::Config cfg = lgtest::config_from(args);
  return std::make_unique<ProbeHarness>("nginx", cfg.nginx.schedule,
                                        [&](uv_loop_t* loop) { return lg::probes::make_probe(loop, cfg.nginx); });
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("nginx: Letta's health through the SSE proxy is up", "[stack][nginx]") {
  auto h = nginx_harness(nginx_url(), {});
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "ok");
  CHECK(c.status == Status::Up);
  CHECK(c.info.at("letta_version") == "0.16.7");  // Letta's version, seen through nginx
  CHECK(c.info.count("version") == 0);
  CHECK(contains(c.reason, "nginx GET " + nginx_url() + "/v1/health/"));
  CHECK(c.target == "GET " + nginx_url() + "/v1/health/");
}

TEST_CASE("nginx: nginx's own /nginx-health route is checked for 200 only", "[stack][nginx]") {
  auto h = nginx_harness(nginx_url(), {"--nginx-health-path", "/nginx-health"});
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "ok");
}

TEST_CASE("nginx: an SSE stream through the SSE-correct proxy delivers its first event at once",
          "[stack][nginx][sse]") {
  SECTION("GET stand-in stream, path relative to the nginx URL") {
    auto h = nginx_harness(nginx_url(), {"--sse-url", kStream});
    const auto& c = h->first_result();
    INFO(c.reason);
    CHECK(c.reason_code == "ok");
    CHECK(c.status == Status::Up);
    REQUIRE(c.info.count("first_event_ms") == 1);
    CHECK(std::stoi(c.info.at("first_event_ms")) < 500);
    CHECK(c.info.at("x_accel_buffering") == "no");
    CHECK(c.last_latency_s < 0.9);  // the stream was closed at its first event, not held
    CHECK(contains(c.reason, "first event after"));
    CHECK(contains(c.target, "+ SSE GET " + nginx_url() + kStream));
  }
  SECTION("POST to Letta's streaming route, absolute URL") {
    auto h = nginx_harness(nginx_url(), {"--sse-url", nginx_url() + "/v1/agents/agent-1/messages?hold_s=10",
                                         "--sse-method", "POST", "--sse-body", kLettaBody});
    const auto& c = h->first_result();
    INFO(c.reason);
    CHECK(c.reason_code == "ok");
    CHECK(std::stoi(c.info.at("first_event_ms")) < 500);
  }
  SECTION("several attempts in a row stay up") {
    // Deadlines a busy machine meets (the stand-in is one Python process that the tests running
    // beside this one share): the first event comes in milliseconds when it is served at all.
    auto h = nginx_harness(nginx_url(), {"--sse-url", kStream, "--nginx-interval", "500ms", "--nginx-timeout",
                                         "500ms", "--sse-deadline", "400ms"});
    const auto& c = h->run_results(4, std::chrono::milliseconds(10000));
    INFO(c.reason);
    CHECK(c.counts.ok == 4);
    CHECK(c.status == Status::Up);
  }
}

TEST_CASE("nginx: a buffering proxy holds the stream and is reported as buffered", "[stack][nginx][sse]") {
  auto h = nginx_harness(nginx_url("LG_NGINX_BUFFERED_PORT"), {"--sse-url", kStream});
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "buffered");
  CHECK(c.status == Status::Down);
  CHECK(contains(c.reason, "within 1s"));
  CHECK(contains(c.reason, "proxy_buffering off"));
  CHECK(contains(c.reason, nginx_url("LG_NGINX_BUFFERED_PORT") + kStream));
  // The SSE deadline decided, not the runner's 2s timeout.
  CHECK(c.last_latency_s >= 0.95);
  CHECK(c.last_latency_s < 1.9);
}

TEST_CASE("nginx: a URL that is not an event stream is not_sse", "[stack][nginx][sse]") {
  auto h = nginx_harness(nginx_url(), {"--sse-url", "/v1/health/"});
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "not_sse");
  CHECK(contains(c.reason, "application/json"));
}

TEST_CASE("nginx: the HTTP check's failure wins over the SSE verdict", "[stack][nginx][sse]") {
  auto h = nginx_harness(nginx_url(), {"--nginx-health-path", "/v1/no-such-route/", "--sse-url", kStream});
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "http_status");
  CHECK(contains(c.reason, "nginx GET " + nginx_url() + "/v1/no-such-route/ answered HTTP 404"));
}

TEST_CASE("nginx: a stopped nginx is refused", "[stack][serial][nginx]") {
  {
    lgtest::ServiceStopped stopped("nginx");
    auto h = nginx_harness(nginx_url(), {"--sse-url", kStream});
    const auto& c = h->first_result();
    INFO(c.reason);
    CHECK(c.reason_code == "refused");
    CHECK(contains(c.reason, "nginx GET " + nginx_url()));
    CHECK(contains(c.reason, "connection refused"));
    REQUIRE(stopped.restart());
  }
  auto h = nginx_harness(nginx_url(), {"--sse-url", kStream});
  CHECK(h->first_result().reason_code == "ok");
}

TEST_CASE("nginx: serve refuses an SSE deadline the nginx timeout cannot hold (exit 2)", "[stack][nginx]") {
  auto r = lgtest::run(lgtest::binary() + " serve --sse-url /v1/agents/agent-1/messages --nginx-timeout 2s --forward off", 20);
  INFO(r.out);
  CHECK(r.exit_code == 2);
  CHECK(contains(r.out, "--nginx-timeout"));
  CHECK(contains(r.out, "--sse-deadline 5s"));
}
