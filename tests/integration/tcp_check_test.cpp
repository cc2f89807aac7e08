// The plain TCP connect probe (--tcp-check NAME=HOST:PORT) through the real binary: up against
// a listening port, down with reason `refused` against a closed one, and the transitions when
// a listener appears on that port and goes away again, in /readyz, /status, /metrics and the log.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "integration/gate_harness.hpp"

using lgtest::comp;
using lgtest::Gate;
using lgtest::Labels;
using lgtest::Scrape;
using nlohmann::json;

namespace {

// A loopback listener on `port` (0: any) that accepts and closes every connection at once, so
// its accept queue never fills however often it is probed.
class Listener {
 public:
  explicit Listener(int port = 0) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    INFO("binding 127.0.0.1:" << port);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(listen(fd_, 64) == 0);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0) continue;
        int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) {
          ++accepted_;
          close(c);
        }
      }
    });
  }
  ~Listener() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  int port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

int count_lines(const std::string& log, const std::string& needle) {
  int n = 0;
  for (size_t p = log.find(needle); p != std::string::npos; p = log.find(needle, p + 1)) ++n;
  return n;
}

Labels of(const std::string& component) { return {{"component", component}}; }

}  // namespace

TEST_CASE("tcp-check: up on a listening port, refused on a closed one, up when a listener appears",
          "[stack][tcp]") {
  Listener listening;
  const int closed_port = lgtest::free_port();  // nothing listens there (yet)
  const std::string open_target = "127.0.0.1:" + std::to_string(listening.port());
  const std::string closed_target = "127.0.0.1:" + std::to_string(closed_port);
  Gate g("--letta-url off --postgres-dsn off --redis-url off --nginx-url off --tcp-check open=" + open_target +
         " --tcp-check ghost=" + closed_target +
         " --probe-interval 200ms --probe-timeout 150ms --probe-jitter 0 --probe-fall 2 --probe-rise 2");
  INFO(g.process->log());

  json s = g.wait_status([](const json& s) {
    return comp(s, "open")["status"] == "up" && comp(s, "ghost")["status"] == "down";
  }, 5000);
  INFO(s.dump(2));
  REQUIRE(s.is_object());
  CHECK(comp(s, "open")["target"] == "tcp://" + open_target);
  CHECK(comp(s, "open")["reason"] == "connected to " + open_target);
  CHECK(comp(s, "open")["reason_code"] == "ok");
  CHECK(comp(s, "ghost")["target"] == "tcp://" + closed_target);
  CHECK(comp(s, "ghost")["reason_code"] == "refused");
  CHECK_THAT(comp(s, "ghost")["reason"].get<std::string>(), Catch::Contains("connection refused"));
  CHECK_THAT(comp(s, "ghost")["reason"].get<std::string>(), Catch::Contains(closed_target));
  CHECK(comp(s, "ghost")["required"] == true);
  CHECK(listening.accepted() >= 1);  // the probe really connected
  // A required TCP check down keeps the gate not ready, with its reason.
  auto r = g.readyz_json();
  CHECK(g.readyz() == 503);
  CHECK(r["components"]["ghost"]["status"] == "down");

  Scrape m = g.metrics();
  {
    INFO(m.text());
    CHECK(m.get("probe_success", of("open")) == 1);
    CHECK(m.get("probe_success", of("ghost")) == 0);
    CHECK(m.counter("lettagate_probe_failures_total", {{"component", "ghost"}, {"reason", "refused"}}) >= 1);
    CHECK(m.get("lettagate_component_status", {{"component", "ghost"}, {"status", "down"}}) == 1);
    CHECK_FALSE(m.get("probe_http_status_code", of("open")));  // not an HTTP component
    CHECK(m.get("lettagate_ready") == 0);
  }

  {
    // A listener appears on the closed port: up after --probe-rise successes, gate ready.
    Listener late(closed_port);
    json up = g.wait_status([](const json& s) { return comp(s, "ghost")["status"] == "up"; }, 5000);
    INFO(up.dump(2));
    REQUIRE(up.is_object());
    CHECK(comp(up, "ghost")["reason"] == "connected to " + closed_target);
    CHECK(comp(up, "ghost")["consecutive_successes"] >= 2);
    CHECK(late.accepted() >= 2);
    CHECK(g.wait_readyz(200, 2000));
    Scrape after = g.metrics();
    INFO(after.text());
    CHECK(after.get("probe_success", of("ghost")) == 1);
    CHECK(after.get("lettagate_component_transitions_total", {{"component", "ghost"}, {"to", "up"}}) == 1);
    CHECK(after.get("lettagate_component_transitions_total", {{"component", "ghost"}, {"to", "down"}}) == 1);
    CHECK(after.get("lettagate_ready") == 1);
  }
  // ... and down again, refused, once it is gone.
  json down = g.wait_status([](const json& s) { return comp(s, "ghost")["status"] == "down"; }, 5000);
  INFO(down.dump(2));
  REQUIRE(down.is_object());
  CHECK(comp(down, "ghost")["reason_code"] == "refused");
  CHECK(g.wait_readyz(503, 2000));
  CHECK(comp(down, "open")["status"] == "up");  // the other check never moved
  CHECK(comp(down, "open")["transitions"] == 1);

  const std::string log = g.process->log();
  INFO(log);
  CHECK(count_lines(log, "[ghost] down -> up") == 1);
  CHECK(count_lines(log, "[ghost] up -> down") == 1);
}
