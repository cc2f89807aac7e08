#pragma once
// `lettagate serve` as the tests see it from outside: the real binary on a free port, polled
// over plain sockets (/readyz, /status, /metrics parsed by support/scrape.hpp).
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/process_stats.hpp"
#include "support/scrape.hpp"
#include "support/test_env.hpp"

namespace lgtest {

// A lettagate serving on a free port with `args` (forwarder off: it would bind :8283).
struct Gate {
  using Clock = std::chrono::steady_clock;
  using json = nlohmann::json;
  int port = free_port();
  std::unique_ptr<Process> process;
  Clock::time_point spawned;

  // `env`: variable assignments put before the command (e.g. ASAN_OPTIONS=...).
  explicit Gate(const std::string& args, const std::string& env = "") {
    spawned = Clock::now();
    process = std::make_unique<Process>("serve --listen 127.0.0.1:" + std::to_string(port) + " --forward off " + args, env);
    const bool live = wait_live(port);
    INFO(process->log());  // read after the wait: why it did not start
    REQUIRE(live);
  }
  int readyz() const { return http_get(port, "/readyz", 2000).status; }
  json readyz_json() const { return json::parse(http_get(port, "/readyz", 2000).body, nullptr, false); }
  json status() const {
    auto r = http_get(port, "/status", 2000);
    return r.status == 200 ? json::parse(r.body, nullptr, false) : json();
  }
  Scrape metrics() const {
    auto r = http_get(port, "/metrics", 2000);
    INFO("GET /metrics answered " << r.status);
    REQUIRE(r.status == 200);
    return Scrape(r.body);
  }
  // Polls /status until `pred` holds; returns the snapshot that satisfied it (null on timeout).
  json wait_status(const std::function<bool(const json&)>& pred, int timeout_ms) const {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      json s = status();
      if (s.is_object() && pred(s)) return s;
      std::this_thread::sleep_for(std::chrono::milliseconds(15));
    }
    return json();
  }
  // Polls /metrics until `pred` holds; returns the scrape that satisfied it (nullopt on timeout).
  std::optional<Scrape> wait_metrics(const std::function<bool(const Scrape&)>& pred, int timeout_ms) const {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      auto r = http_get(port, "/metrics", 2000);
      if (r.status == 200) {
        Scrape s(r.body);
        if (pred(s)) return s;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(15));
    }
    return std::nullopt;
  }
  bool wait_readyz(int code, int timeout_ms) const {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      if (readyz() == code) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
};

inline const nlohmann::json& comp(const nlohmann::json& status, const char* name) {
  return status["components"][name];
}

// Only Letta probed, at the stand-in.
inline std::string letta_only() {
  return "--letta-url " + env("LG_LETTA_URL") + " --postgres-dsn off --redis-url off --nginx-url off ";
}

}  // namespace lgtest
