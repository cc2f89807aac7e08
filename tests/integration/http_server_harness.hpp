#pragma once
// What the health server's tests share: the real binary with every component off (Server),
// responses split from a raw stream, counters read from /metrics bodies, and a process's RSS
// and CPU time from /proc.
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "integration/gate_harness.hpp"
#include "support/raw_conn.hpp"
#include "support/test_env.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define LG_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LG_TEST_ASAN 1
#endif
#endif

namespace lgtest::http_server {

// The test binary is built like the lettagate it starts (scripts/test's sanitized suite builds both).
#ifdef LG_TEST_ASAN
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif

struct Server {
  int port = free_port();
  Process proc;
  explicit Server(const std::string& extra = "", const std::string& env = "")
      : proc("serve --listen 127.0.0.1:" + std::to_string(port) +
                 " --letta-url off --postgres-dsn off --redis-url off --nginx-url off --forward off " + extra,
             env) {
    REQUIRE(wait_live(port));
  }
};

inline const std::string kGet = "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n";

inline int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + what.size())) ++n;
  return n;
}

struct Answer {
  int status = 0;
  std::string head;
  std::string body;
};

// A stream of responses, split by their Content-Length (none after a HEAD: head_only[i]).
// Stops at the first one that is not whole.
inline std::vector<Answer> split_answers(const std::string& all, const std::vector<bool>& head_only) {
  std::vector<Answer> out;
  size_t pos = 0;
  while (pos < all.size() && all.compare(pos, 9, "HTTP/1.1 ") == 0) {
    const size_t end = all.find("\r\n\r\n", pos);
    const size_t cl = all.find("Content-Length: ", pos);
    if (end == std::string::npos || cl == std::string::npos || cl > end) break;
    const bool head = out.size() < head_only.size() && head_only[out.size()];
    const size_t len = head ? 0 : std::stoul(all.substr(cl + 16, end - cl - 16));
    if (end + 4 + len > all.size()) break;
    out.push_back({std::stoi(all.substr(pos + 9, 3)), all.substr(pos, end - pos), all.substr(end + 4, len)});
    pos = end + 4 + len;
  }
  return out;
}

// GET /metrics on an open keep-alive connection that has had `before` answers (no HEAD): the
// counters seen without opening a connection (which, at the cap, would itself make room).
inline std::optional<Scrape> scrape_on(RawConn& c, size_t before) {
  if (!c.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")) return std::nullopt;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (std::chrono::steady_clock::now() < deadline) {
    const auto answers = split_answers(c.data(), {});
    if (answers.size() > before) return Scrape(answers[before].body);
    c.read_to_eof(20);
  }
  return std::nullopt;
}

// The value of lettagate_http_requests_total{path=PATH,code="200"} in a /metrics body (0: absent).
inline long served_count(const std::string& metrics, const std::string& path) {
  const std::string key = "lettagate_http_requests_total{path=\"" + path + "\",code=\"200\"} ";
  const size_t p = metrics.find(key);
  return p == std::string::npos ? 0 : std::stol(metrics.substr(p + key.size()));
}

// Resident memory of a process, in KiB (/proc/PID/status VmRSS).
inline long rss_kib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// User + system CPU time of a process, in clock ticks (/proc/PID/stat).
inline long cpu_ticks(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return utime + stime;
}

// Waits (at most 10 s) until a process has used no CPU for 300 ms: a server that stopped
// answering a client that does not read.
inline void wait_quiet(int pid) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  long ticks = cpu_ticks(pid);
  auto still_since = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < deadline &&
         std::chrono::steady_clock::now() - still_since < std::chrono::milliseconds(300)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const long now = cpu_ticks(pid);
    if (now != ticks) {
      ticks = now;
      still_since = std::chrono::steady_clock::now();
    }
  }
}

}  // namespace lgtest::http_server
