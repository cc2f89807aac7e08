#pragma once
// `lettagate serve` as the tests see it from outside: the real binary on a free port, polled
// over plain sockets (/readyz, /status, /metrics), and a small parser for the Prometheus text it
// exposes so tests can assert metric values, not only names.
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

#include "support/test_env.hpp"

// Failure messages show a metric's value, or "absent".
namespace Catch {
template <>
struct StringMaker<std::optional<double>> {
  static std::string convert(const std::optional<double>& v) { return v ? StringMaker<double>::convert(*v) : "absent"; }
};
}  // namespace Catch

namespace lgtest {

using Labels = std::map<std::string, std::string>;

// One /metrics scrape, parsed: every sample with its name, labels and value.
class Scrape {
 public:
  struct Sample {
    std::string name;
    Labels labels;
    double value = 0;
  };

  explicit Scrape(const std::string& text) : text_(text) {
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      std::string line = text.substr(pos, end - pos);
      pos = end + 1;
      if (line.empty() || line[0] == '#') continue;
      Sample s;
      size_t i = line.find_first_of("{ ");
      if (i == std::string::npos) continue;
      s.name = line.substr(0, i);
      if (line[i] == '{') {
        ++i;
        while (i < line.size() && line[i] != '}') {
          size_t eq = line.find('=', i);
          if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') break;
          std::string key = line.substr(i, eq - i), value;
          size_t j = eq + 2;
          for (; j < line.size() && line[j] != '"'; ++j) {
            if (line[j] == '\\' && j + 1 < line.size()) {
              ++j;
              value += line[j] == 'n' ? '\n' : line[j];
            } else {
              value += line[j];
            }
          }
          s.labels[key] = value;
          i = j + 1;
          if (i < line.size() && line[i] == ',') ++i;
        }
        i = line.find(' ', i);
        if (i == std::string::npos) continue;
      }
      s.value = std::stod(line.substr(i + 1));
      samples_.push_back(std::move(s));
    }
  }

  // The value of the one sample named `name` whose labels include `labels`; nullopt if none.
  std::optional<double> get(const std::string& name, const Labels& labels = {}) const {
    for (const auto& s : samples_) {
      if (s.name == name && includes(s.labels, labels)) return s.value;
    }
    return std::nullopt;
  }
  // Like get(), 0 when absent (a counter that has not counted yet); for counters only.
  double counter(const std::string& name, const Labels& labels = {}) const { return get(name, labels).value_or(0); }
  // Every sample named `name` whose labels include `labels`.
  std::vector<Sample> all(const std::string& name, const Labels& labels = {}) const {
    std::vector<Sample> out;
    for (const auto& s : samples_)
      if (s.name == name && includes(s.labels, labels)) out.push_back(s);
    return out;
  }
  const std::string& text() const { return text_; }

 private:
  static bool includes(const Labels& have, const Labels& want) {
    for (const auto& [k, v] : want) {
      auto it = have.find(k);
      if (it == have.end() || it->second != v) return false;
    }
    return true;
  }
  std::string text_;
  std::vector<Sample> samples_;
};

// A lettagate serving on a free port with `args` (forwarder off: it would bind :8283).
struct Gate {
  using Clock = std::chrono::steady_clock;
  using json = nlohmann::json;
  int port = free_port();
  std::unique_ptr<Process> process;
  Clock::time_point spawned;

  explicit Gate(const std::string& args) {
    spawned = Clock::now();
    process = std::make_unique<Process>("serve --listen 127.0.0.1:" + std::to_string(port) + " --forward off " + args);
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
