// SseCheck over real sockets against a scripted one-connection server: the verdicts a real
// proxy rarely shows on demand (the end marker first, a body that ends, comments only, an
// oversized event, bytes one at a time). The nginx cases are in nginx_probe_test.cpp.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "probes/sse_check.hpp"
#include "support/test_env.hpp"
#include "support/test_loop.hpp"

using lg::probes::Outcome;
using lg::probes::SseCheck;
using lg::probes::SseCheckSpec;

namespace {

const char* kHead = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-Accel-Buffering: no\r\n";

struct Step {
  int delay_ms = 0;
  std::string bytes;
};

// Accepts one connection, reads the request head, writes each step after its delay, then
// holds the connection open `hold_ms` (or closes at once with hold_ms 0).
class ScriptedServer {
 public:
  ScriptedServer(std::vector<Step> steps, int hold_ms) {
    fd_ = lgtest::bind_loopback(&port_, 0, true);
    REQUIRE(listen(fd_, 4) == 0);
    thread_ = std::thread([this, steps = std::move(steps), hold_ms] { serve(steps, hold_ms); });
  }
  ~ScriptedServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  uint16_t port() const { return static_cast<uint16_t>(port_); }
  const std::string& request() const { return request_; }  // read it after the check ended

 private:
  bool wait_readable(int fd, int ms) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, ms) > 0;
  }
  void sleep_unless_stopped(int ms) {
    for (int waited = 0; waited < ms && !stop_; waited += 10) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  void serve(const std::vector<Step>& steps, int hold_ms) {
    int c = -1;
    for (int i = 0; i < 500 && !stop_ && c < 0; ++i)
      if (wait_readable(fd_, 10)) c = accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    char buf[4096];
    while (request_.find("\r\n\r\n") == std::string::npos && !stop_) {
      if (!wait_readable(c, 10)) continue;
      ssize_t n = read(c, buf, sizeof buf);
      if (n <= 0) break;
      request_.append(buf, static_cast<size_t>(n));
    }
    for (const auto& s : steps) {
      sleep_unless_stopped(s.delay_ms);
      if (stop_ || send(c, s.bytes.data(), s.bytes.size(), MSG_NOSIGNAL) < 0) break;
    }
    sleep_unless_stopped(hold_ms);
    close(c);
  }

  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::string request_;
};

// Runs one SseCheck against the server on a private loop; returns its outcome.
Outcome run_check(uint16_t port, int deadline_ms, const std::string& method = "GET", const std::string& body = "") {
  lgtest::TestLoop loop;
  std::optional<Outcome> result;
  {
    SseCheckSpec spec;
    spec.host = "127.0.0.1";
    spec.port = port;
    spec.method = method;
    spec.body = body;
    spec.target = "/stream";
    spec.deadline = lg::core::Millis{deadline_ms};
    spec.what = "SSE " + method + " /stream";
    SseCheck check(loop.get(), spec);
    check.start([&](Outcome o) { result = std::move(o); });
    loop.run_until([&] { return result.has_value(); }, std::chrono::milliseconds(deadline_ms + 3000));
  }
  CHECK(loop.close());
  REQUIRE(result);
  return *result;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("sse socket: the first event passes, even one byte at a time with CRLF", "[stack][sse]") {
  std::vector<Step> steps{{0, std::string(kHead) + "Content-Length: 100\r\n\r\n"}};
  for (char ch : std::string(": hello\r\n\r\nid: 1\r\ndata: {\"message_type\":\"ping\"}\r\n\r\n"))
    steps.push_back({5, std::string(1, ch)});
  ScriptedServer server(steps, 3000);
  Outcome o = run_check(server.port(), 3000, "POST", R"({"streaming":true})");
  INFO(o.reason);
  CHECK(o.ok);
  CHECK(o.reason_code == "ok");
  CHECK(o.http_status == 200);
  CHECK(o.facts.x_accel_buffering.value() == "no");
  CHECK(o.facts.first_event_ms.value() >= 5 * 40);  // it waited for the blank line
  CHECK(contains(server.request(), "POST /stream HTTP/1.1"));
  CHECK(contains(server.request(), "Accept: text/event-stream"));
  CHECK(contains(server.request(), "Content-Type: application/json"));
  CHECK(contains(server.request(), "{\"streaming\":true}"));
}

TEST_CASE("sse socket: a first event that comes with the stream's end is buffered, one that stays open ok",
          "[stack][sse]") {
  const std::string chunked = std::string(kHead) + "Transfer-Encoding: chunked\r\n\r\n";
  SECTION("the event and the last chunk in one segment (a buffering proxy at the stream's end)") {
    ScriptedServer server({{0, chunked}, {50, "8\r\ndata: 1\n\r\n1\r\n\n\r\n0\r\n\r\n"}}, 3000);
    Outcome o = run_check(server.port(), 2000);
    INFO(o.reason);
    CHECK(o.reason_code == "buffered");
    CHECK(contains(o.reason, "only together with the end of the stream (the response body ended"));
    CHECK(o.facts.x_accel_buffering.value() == "no");
  }
  SECTION("the end marker 50 ms after the event, within the settle window") {
    ScriptedServer server({{0, chunked}, {20, "9\r\ndata: 1\n\n\r\n"}, {50, "e\r\ndata: [DONE]\n\n\r\n"}}, 3000);
    Outcome o = run_check(server.port(), 2000);
    INFO(o.reason);
    CHECK(o.reason_code == "buffered");
    CHECK(contains(o.reason, "(data: [DONE]"));
  }
  SECTION("the connection closes right after the event (no length)") {
    ScriptedServer server({{0, std::string(kHead) + "Connection: close\r\n\r\n"}, {20, "data: 1\n\n"}}, 0);
    Outcome o = run_check(server.port(), 2000);
    INFO(o.reason);
    CHECK(o.reason_code == "buffered");
  }
  SECTION("the end 400 ms after the event: the stream was open, the events flowed") {
    ScriptedServer server({{0, chunked}, {20, "9\r\ndata: 1\n\n\r\n"}, {400, "e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n"}},
                          3000);
    Outcome o = run_check(server.port(), 2000);
    INFO(o.reason);
    CHECK(o.reason_code == "ok");
    CHECK(o.facts.first_event_ms.value() < 300);
  }
  SECTION("a first event near the deadline: the settle window is cut at the deadline") {
    ScriptedServer server({{0, chunked}, {300, "9\r\ndata: 1\n\n\r\n"}}, 3000);
    Outcome o = run_check(server.port(), 450);
    INFO(o.reason);
    CHECK(o.reason_code == "ok");
  }
}

TEST_CASE("sse socket: the end marker before any event is stream_closed", "[stack][sse]") {
  ScriptedServer server({{0, std::string(kHead) + "Content-Length: 1000\r\n\r\n"}, {50, "data: [DONE]\n\n"}}, 3000);
  Outcome o = run_check(server.port(), 2000);
  INFO(o.reason);
  CHECK(o.reason_code == "stream_closed");
  CHECK(contains(o.reason, "data: [DONE]"));
}

TEST_CASE("sse socket: a body that ends before any event is stream_closed", "[stack][sse]") {
  SECTION("chunked, last chunk") {
    ScriptedServer server({{0, std::string(kHead) + "Transfer-Encoding: chunked\r\n\r\n"}, {50, "8\r\n: note\n\n\r\n0\r\n\r\n"}},
                          3000);
    Outcome o = run_check(server.port(), 2000);
    INFO(o.reason);
    CHECK(o.reason_code == "stream_closed");
    CHECK(contains(o.reason, "the response body ended"));
    CHECK(contains(o.reason, "1 comment line"));
  }
  SECTION("no length, the connection closes") {
    ScriptedServer server({{0, std::string(kHead) + "Connection: close\r\n\r\n"}, {50, "data: unfinished"}}, 0);
    Outcome o = run_check(server.port(), 2000);
    INFO(o.reason);
    CHECK(o.reason_code == "stream_closed");
    CHECK(contains(o.reason, "without its closing blank line"));
  }
}

TEST_CASE("sse socket: comments only until the deadline is no_event", "[stack][sse]") {
  ScriptedServer server({{0, std::string(kHead) + "Content-Length: 1000\r\n\r\n"}, {50, ": ping\n\n"}, {50, ": ping\n\n"}},
                        3000);
  Outcome o = run_check(server.port(), 500);
  INFO(o.reason);
  CHECK(o.reason_code == "no_event");
  CHECK(contains(o.reason, "2 comment lines"));
}

TEST_CASE("sse socket: headers and silence is buffered, silence without headers too", "[stack][sse]") {
  {
    ScriptedServer server({{0, std::string(kHead) + "Content-Length: 1000\r\n\r\n"}}, 3000);
    Outcome o = run_check(server.port(), 300);
    INFO(o.reason);
    CHECK(o.reason_code == "buffered");
    CHECK(contains(o.reason, "answered text/event-stream but no event arrived within 300ms"));
  }
  {
    ScriptedServer server({}, 3000);
    Outcome o = run_check(server.port(), 300);
    INFO(o.reason);
    CHECK(o.reason_code == "buffered");
    CHECK(contains(o.reason, "neither response headers nor an event"));
  }
}

TEST_CASE("sse socket: not an event stream, and an oversized event", "[stack][sse]") {
  {
    ScriptedServer server({{0, "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"}},
                          3000);
    Outcome o = run_check(server.port(), 2000);
    INFO(o.reason);
    CHECK(o.reason_code == "not_sse");
    CHECK(o.http_status == 404);
  }
  {
    std::string big = "data: " + std::string((1 << 20) + 10, 'x');
    ScriptedServer server({{0, std::string(kHead) + "Connection: close\r\n\r\n"}, {0, big}}, 3000);
    Outcome o = run_check(server.port(), 3000);
    INFO(o.reason);
    CHECK(o.reason_code == "protocol");
    CHECK(contains(o.reason, "longer than 1048576 bytes"));
  }
}
