#pragma once
// What the health server's tests share: the real binary with every component off (Server, a
// Gate), responses split from a raw stream, counters read from /metrics bodies.
#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "integration/gate_harness.hpp"
#include "support/process_stats.hpp"
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

// The real binary with every component off.
struct Server : Gate {
  explicit Server(const std::string& extra = "", const std::string& env = "")
      : Gate("--letta-url off --postgres-dsn off --redis-url off --nginx-url off " + extra, env) {}
  int pid() const { return process->pid(); }
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
  return static_cast<long>(Scrape(metrics).counter("lettagate_http_requests_total", {{"path", path}, {"code", "200"}}));
}

}  // namespace lgtest::http_server
