// `lettagate serve` with only Redis probed, against the services redis: optional Redis
// (--redis-required=false, Letta runs without it but background streaming fails) leaves the
// gate ready and degraded when Redis stops; required Redis turns /readyz 503 within
// interval x fall + timeout, and 200 again within interval x rise + timeout after it is back.
#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "integration/probe_harness.hpp"
#include "support/test_env.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kIntervalMs = 250, kTimeoutMs = 250, kRise = 2, kFall = 3;
// Scheduling slack on a loaded 2-core CI machine: generous, the bound stays meaningful.
constexpr int kMarginMs = 1500;

struct Readyz {
  int status = 0;
  nlohmann::json body;
};

Readyz readyz(int port) {
  auto r = lgtest::http_get(port, "/readyz", 1000);
  Readyz out{r.status, nlohmann::json::parse(r.body, nullptr, false)};
  return out;
}

std::string redis_status(const Readyz& r) {
  if (!r.body.is_object() || !r.body.contains("components") || !r.body["components"].contains("redis")) return "";
  return r.body["components"]["redis"].value("status", "");
}

// Polls /readyz every 20 ms until `until` holds; returns the time it took (or nullopt).
std::optional<double> poll_until(int port, const std::function<bool(const Readyz&)>& until,
                                 std::chrono::milliseconds limit, Readyz* last,
                                 const std::function<void(const Readyz&)>& each = nullptr) {
  const auto start = Clock::now();
  while (Clock::now() - start < limit) {
    *last = readyz(port);
    if (each) each(*last);
    if (until(*last)) return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    std::this_thread::sleep_for(20ms);
  }
  return std::nullopt;
}

std::string serve_args(int port, const std::string& extra) {
  return "serve --listen 127.0.0.1:" + std::to_string(port) +
         " --letta-url off --postgres-dsn off --nginx-url off --forward off" +
         " --redis-url redis://127.0.0.1:" + lgtest::env("LG_REDIS_PORT") +
         " --probe-interval " + std::to_string(kIntervalMs) + "ms --probe-timeout " + std::to_string(kTimeoutMs) +
         "ms --probe-rise " + std::to_string(kRise) + " --probe-fall " + std::to_string(kFall) + " " + extra;
}

}  // namespace

TEST_CASE("redis gate: optional Redis down leaves the gate ready and degraded", "[stack][serial][redis]") {
  const int port = lgtest::free_port();
  lgtest::Process gate(serve_args(port, "--redis-required=false"));
  REQUIRE(lgtest::wait_live(port));
  Readyz r;
  REQUIRE(poll_until(port, [](const Readyz& x) { return redis_status(x) == "up"; }, 5s, &r));
  CHECK(r.status == 200);
  CHECK(r.body["degraded"] == false);
  {
    lgtest::ServiceStopped stopped("redis");
    int not_ready = 0;
    auto took = poll_until(port, [](const Readyz& x) { return redis_status(x) == "down"; }, 5s, &r,
                           [&](const Readyz& x) { not_ready += x.status != 200; });
    INFO(r.body.dump());
    REQUIRE(took);
    CHECK(not_ready == 0);  // ready all along
    CHECK(r.status == 200);
    CHECK(r.body["status"] == "ready");
    CHECK(r.body["degraded"] == true);
    CHECK(r.body["components"]["redis"]["required"] == false);
    CHECK(r.body["components"]["redis"]["reason"].get<std::string>().find("connection refused") != std::string::npos);
    REQUIRE(stopped.restart());
  }
  auto back = poll_until(port, [](const Readyz& x) { return redis_status(x) == "up"; }, 5s, &r);
  REQUIRE(back);
  CHECK(r.status == 200);
  CHECK(r.body["degraded"] == false);
}

TEST_CASE("redis gate: required Redis down is 503 within interval x fall + timeout, back within interval x rise + "
          "timeout",
          "[stack][serial][redis]") {
  const int port = lgtest::free_port();
  lgtest::Process gate(serve_args(port, ""));
  REQUIRE(lgtest::wait_live(port));
  Readyz r;
  REQUIRE(poll_until(port, [](const Readyz& x) { return x.status == 200; }, 5s, &r));
  CHECK(redis_status(r) == "up");

  const double down_bound = kIntervalMs * kFall + kTimeoutMs + kMarginMs;
  const double up_bound = kIntervalMs * kRise + kTimeoutMs + kMarginMs;
  // Measured from the moment the stop (start) command begins: that includes redis-server's own
  // shutdown (startup) time, so the real detection delay is shorter than what we compare.
  const auto stop_begins = Clock::now();
  lgtest::ServiceStopped stopped("redis");  // returns once redis-server is gone
  auto to_503 = poll_until(port, [](const Readyz& x) { return x.status == 503; }, 10s, &r);
  INFO(r.body.dump());
  REQUIRE(to_503);
  const double down_ms = std::chrono::duration<double, std::milli>(Clock::now() - stop_begins).count();
  CHECK(redis_status(r) == "down");
  const auto start_begins = Clock::now();
  REQUIRE(stopped.restart());  // returns once redis answers PING
  auto to_200 = poll_until(port, [](const Readyz& x) { return x.status == 200; }, 10s, &r);
  REQUIRE(to_200);
  const double up_ms = std::chrono::duration<double, std::milli>(Clock::now() - start_begins).count();
  std::fprintf(stderr,
               "redis gate: 503 %.0f ms after the stop began (%.0f ms after it returned; bound %.0f), "
               "200 %.0f ms after the start began (%.0f ms after it returned; bound %.0f)\n",
               down_ms, *to_503, down_bound, up_ms, *to_200, up_bound);
  CHECK(down_ms < down_bound);
  CHECK(up_ms < up_bound);
}
