// The forwarder when the upstream is not there: refused, a name that does not resolve, a
// black hole (connect timeout), the connection cap, the idle timeout. A failed connect holds the
// client and retries until --forward-hold (not in reject mode), then closes it and counts the
// reason; the others close the client promptly and count the reason.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/manual_clock.hpp"
#include "core/net_address.hpp"
#include "integration/proxy_harness.hpp"
#include "proxy/resolver.hpp"
#include "support/black_hole.hpp"
#include "support/test_env.hpp"

using lgtest::BlackHole;
using namespace lgtest::proxy;

namespace {

void expect_prompt_close(int port, int within_ms, const char* what) {
  INFO(what);
  Fd c(connect_to("127.0.0.1", port));
  REQUIRE(c.fd >= 0);
  send_all(c.fd, "hello", 5);
  double waited = 0;
  PeerEnd end = wait_end(c.fd, within_ms + 3000, &waited);
  INFO("ended by " << to_string(end) << " after " << waited << " ms");
  CHECK((end == PeerEnd::Eof || end == PeerEnd::Reset));
  CHECK(waited < within_ms);
}

}  // namespace

TEST_CASE("proxy: upstream refused: the client is held and the connect retried until --forward-hold, "
          "then closed, reason refused", "[stack][proxy]") {
  const int dead_port = lgtest::free_port();  // nothing listens there
  auto settings = forward_to("127.0.0.1", dead_port);
  settings.hold_timeout = std::chrono::milliseconds(400);
  ForwarderThread fw(settings);
  Fd c(connect_to("127.0.0.1", fw.port()));
  REQUIRE(c.fd >= 0);
  send_all(c.fd, "hello", 5);
  double waited = 0;
  PeerEnd end = wait_end(c.fd, 5000, &waited);
  INFO("ended by " << to_string(end) << " after " << waited << " ms");
  CHECK((end == PeerEnd::Eof || end == PeerEnd::Reset));
  CHECK(waited >= 350);  // held for the hold, not closed at the first refusal
  CHECK(waited < 1500);
  CHECK(fw.metric("lettagate_proxy_upstream_connect_errors_total", {{"reason", "refused"}}) == 1);
  CHECK(fw.metric("lettagate_proxy_upstream_connect_errors_total", {{"reason", "timeout"}}) == 0);
  // 25 ms doubling (jittered down to half): at least 12+25+50+100+200 ms of pauses fit in 400 ms.
  CHECK(fw.metric("lettagate_proxy_upstream_connect_retries_total", {{"reason", "refused"}}) >= 4);
  CHECK(fw.metric("lettagate_proxy_connections_held_served_total") == 0);
  CHECK(fw.no_session_left(2000));
}

TEST_CASE("proxy: clients retrying a refused upstream are counted as held in /status (field retrying too)",
          "[stack][proxy]") {
  const int dead_port = lgtest::free_port();  // nothing listens there
  auto settings = forward_to("127.0.0.1", dead_port);
  settings.hold_timeout = std::chrono::milliseconds(5000);
  ForwarderThread fw(settings);
  Fd c1(connect_to("127.0.0.1", fw.port()));
  Fd c2(connect_to("127.0.0.1", fw.port()));
  REQUIRE((c1.fd >= 0 && c2.fd >= 0));
  send_all(c1.fd, "hello", 5);
  send_all(c2.fd, "hello", 5);
  // Both are refused at once and wait for their next try (the hold is 5 s): look until both are.
  nlohmann::json status;
  size_t queued = 0;
  const double deadline = now_ms() + 3000;
  do {
    status = nlohmann::json::object();
    fw.call([&] {
      fw.forwarder().describe(status);
      queued = fw.forwarder().held_sessions();
    });
    if (status["forward"]["routes"][0].value("retrying", 0) == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  } while (now_ms() < deadline);
  const auto& route = status["forward"]["routes"][0];
  INFO(route.dump());
  CHECK(route["active"] == 2);
  CHECK(route["held"] == 2);  // both wait for their upstream, as held clients do
  CHECK(route["retrying"] == 2);
  CHECK(queued == 0);  // none is in the hold queue for health: the probes know nothing yet
}

TEST_CASE("proxy: upstream refused in reject mode: the client is closed at once, no retry", "[stack][proxy]") {
  const int dead_port = lgtest::free_port();
  auto settings = forward_to("127.0.0.1", dead_port);
  settings.health_mode = lg::config::ForwardHealthMode::Reject;
  ForwarderThread fw(settings);
  expect_prompt_close(fw.port(), 500, "refused");
  CHECK(fw.metric("lettagate_proxy_upstream_connect_errors_total", {{"reason", "refused"}}) == 1);
  CHECK(fw.metric("lettagate_proxy_upstream_connect_retries_total", {{"reason", "refused"}}) == 0);
  CHECK(fw.active() == 0);
}

TEST_CASE("proxy: a held client whose upstream starts listening during its retries is served, its bytes kept",
          "[stack][proxy]") {
  // The upstream's port is taken now (bound, not listening: refuses), and listened on later.
  int srv = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(srv >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(srv, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  getsockname(srv, reinterpret_cast<sockaddr*>(&a), &len);
  Fd server(srv);
  ForwarderThread fw(forward_to("127.0.0.1", ntohs(a.sin_port)));
  Fd c(connect_to("127.0.0.1", fw.port()));
  REQUIRE(c.fd >= 0);
  REQUIRE(send_all(c.fd, "ping", 4));
  // Refused for a while (retried), then the server listens and echoes one message.
  const double deadline = now_ms() + 5000;
  while (fw.metric("lettagate_proxy_upstream_connect_retries_total", {{"reason", "refused"}}) < 3 && now_ms() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(listen(srv, 8) == 0);
  const double listening_at = now_ms();
  std::thread echo([srv] {
    int fd = accept(srv, nullptr, nullptr);
    if (fd < 0) return;
    char buf[16];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n > 0) send_all(fd, buf, static_cast<size_t>(n));
    close(fd);
  });
  CHECK(recv_n(c.fd, 4, 3000) == "ping");  // the bytes sent while held arrived
  const double served_after = now_ms() - listening_at;
  echo.join();
  INFO("served " << served_after << " ms after the upstream listened");
  CHECK(served_after < 600);  // the back-off is at most 500 ms
  CHECK(fw.metric("lettagate_proxy_connections_held_served_total") == 1);
  CHECK(fw.metric("lettagate_proxy_upstream_connect_errors_total", {{"reason", "refused"}}) == 0);
}

TEST_CASE("proxy: upstream name does not resolve: retried, then the client is closed, reason dns", "[stack][proxy]") {
  // .invalid never resolves (RFC 6761); the resolver answers at once here.
  auto settings = forward_to("lettagate-no-such-host.invalid", 8283);
  settings.hold_timeout = std::chrono::milliseconds(300);
  ForwarderThread fw(settings);
  expect_prompt_close(fw.port(), 3000, "dns");
  CHECK(fw.metric("lettagate_proxy_upstream_connect_errors_total", {{"reason", "dns"}}) == 1);
  CHECK(fw.metric("lettagate_proxy_upstream_connect_retries_total", {{"reason", "dns"}}) >= 1);
  // A second client is answered the same (a failure is not cached as an address).
  expect_prompt_close(fw.port(), 3000, "dns again");
  CHECK(fw.metric("lettagate_proxy_upstream_connect_errors_total", {{"reason", "dns"}}) == 2);
}

TEST_CASE("proxy: black-holed upstream: the client is closed at connect_timeout, reason timeout",
          "[stack][proxy]") {
  BlackHole hole;
  auto settings = forward_to("127.0.0.1", hole.port());
  settings.connect_timeout = std::chrono::milliseconds(400);
  settings.hold_timeout = std::chrono::milliseconds(300);  // over by the first timeout: no retry
  ForwarderThread fw(settings);
  Fd c(connect_to("127.0.0.1", fw.port()));
  REQUIRE(c.fd >= 0);
  double waited = 0;
  PeerEnd end = wait_end(c.fd, 5000, &waited);
  INFO("ended by " << to_string(end) << " after " << waited << " ms");
  CHECK((end == PeerEnd::Eof || end == PeerEnd::Reset));
  CHECK(waited >= 350);
  CHECK(waited < 1500);
  CHECK(fw.metric("lettagate_proxy_upstream_connect_errors_total", {{"reason", "timeout"}}) == 1);
}

TEST_CASE("proxy: the connection cap closes excess clients at once and counts them", "[stack][proxy]") {
  TestServer echo(echo_handler);
  auto settings = forward_to("127.0.0.1", echo.port());
  settings.max_connections = 3;
  ForwarderThread fw(settings);
  std::vector<int> open;
  for (int i = 0; i < 3; ++i) {
    int fd = connect_to("127.0.0.1", fw.port());
    REQUIRE(fd >= 0);
    REQUIRE(send_all(fd, "ping", 4));
    REQUIRE(recv_n(fd, 4, 3000) == "ping");
    open.push_back(fd);
  }
  expect_prompt_close(fw.port(), 500, "over the cap");
  CHECK(fw.metric("lettagate_proxy_connections_rejected_total", {{"reason", "limit"}}) == 1);
  // The three admitted ones still work; after one leaves, a new client is admitted.
  REQUIRE(send_all(open[0], "pong", 4));
  CHECK(recv_n(open[0], 4, 3000) == "pong");
  close(open.back());
  open.pop_back();
  const double deadline = now_ms() + 3000;
  while (fw.active() > 2 && now_ms() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  Fd again(connect_to("127.0.0.1", fw.port()));
  REQUIRE(send_all(again.fd, "back", 4));
  CHECK(recv_n(again.fd, 4, 3000) == "back");
  for (int fd : open) close(fd);
}

TEST_CASE("proxy: the optional idle timeout closes a silent connection, and only when set", "[stack][proxy]") {
  TestServer echo(echo_handler);
  SECTION("set: 300 ms") {
    auto settings = forward_to("127.0.0.1", echo.port());
    settings.idle_timeout = std::chrono::milliseconds(300);
    ForwarderThread fw(settings);
    Fd c(connect_to("127.0.0.1", fw.port()));
    // Traffic keeps it alive past the timeout...
    for (int i = 0; i < 5; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      REQUIRE(send_all(c.fd, "k", 1));
      REQUIRE(recv_n(c.fd, 1, 2000) == "k");
    }
    // ...silence closes it.
    double waited = 0;
    PeerEnd end = wait_end(c.fd, 3000, &waited);
    CHECK(end == PeerEnd::Eof);
    CHECK(waited >= 250);
    CHECK(waited < 1000);
  }
  SECTION("default: none") {
    ForwarderThread fw(forward_to("127.0.0.1", echo.port()));
    Fd c(connect_to("127.0.0.1", fw.port()));
    REQUIRE(send_all(c.fd, "k", 1));
    REQUIRE(recv_n(c.fd, 1, 2000) == "k");
    CHECK(wait_end(c.fd, 1200) == PeerEnd::Timeout);  // still open
    REQUIRE(send_all(c.fd, "z", 1));
    CHECK(recv_n(c.fd, 1, 2000) == "z");
  }
}

TEST_CASE("proxy: an upstream given by name is resolved and connected", "[stack][proxy]") {
  // Through getaddrinfo (localhost, from /etc/hosts). Trying each address in turn when the
  // first refuses is exercised by tests/scripts/proxy_dns.sh, which controls /etc/hosts.
  TestServer echo(echo_handler);
  ForwarderThread fw(forward_to("localhost", echo.port()));
  Fd c(connect_to("127.0.0.1", fw.port()));
  REQUIRE(send_all(c.fd, "ping", 4));
  CHECK(recv_n(c.fd, 4, 3000) == "ping");
  CHECK(fw.metric("lettagate_proxy_upstream_connect_errors_total", {{"reason", "refused"}}) == 0);
}

TEST_CASE("proxy resolver: answers are reused for the TTL, then looked up again, lookups coalesce",
          "[stack][proxy]") {
  lgtest::TestLoop loop;
  struct Waiter : lg::proxy::ResolveWaiter {
    int calls = 0, status = 1;
    lg::core::Addresses got;
    void on_resolved(int s, const lg::core::Addresses& a) override {
      ++calls;
      status = s;
      got = a;
    }
  };
  auto resolve = [&](auto& r, Waiter& w) -> lg::core::Addresses {
    if (auto cached = r.lookup(&w)) return cached;
    REQUIRE(w.calls == 0);  // never called back from inside lookup()
    loop.run_until([&] { return w.calls > 0; }, std::chrono::milliseconds(5000));
    REQUIRE(w.calls == 1);
    REQUIRE(w.status == 0);
    return w.got;
  };
  {
    // The TTL on a hand-moved clock; the lookups are real (getaddrinfo on the loop's pool).
    lg::core::ManualTime time;
    lg::proxy::BasicResolver<lg::core::ManualClock> r(loop.get(), lg::core::ManualClock(time), "localhost", 5432,
                                                       std::chrono::milliseconds(300), "test");
    Waiter w1, w2, w3;
    // Three lookups while the first is in flight: one getaddrinfo.
    CHECK(r.lookup(&w1) == nullptr);
    CHECK(r.lookup(&w2) == nullptr);
    CHECK(r.lookup(&w3) == nullptr);
    r.cancel(&w3);
    loop.run_until([&] { return w1.calls && w2.calls; }, std::chrono::milliseconds(5000));
    CHECK(r.lookups() == 1);
    CHECK(w1.calls == 1);
    CHECK(w2.calls == 1);
    CHECK(w3.calls == 0);  // cancelled
    REQUIRE(w1.got);
    CHECK(lg::core::format_address(w1.got->front()).find(":5432") != std::string::npos);
    Waiter w4;
    CHECK(r.lookup(&w4) == w1.got);  // within the TTL: the cached answer, no lookup
    CHECK(r.lookups() == 1);
    time.advance(std::chrono::milliseconds(299));
    Waiter w4b;
    CHECK(r.lookup(&w4b) == w1.got);  // its last millisecond
    CHECK(r.lookups() == 1);
    time.advance(std::chrono::milliseconds(1));
    Waiter w5;
    resolve(r, w5);  // the TTL ran out: resolved again
    CHECK(r.lookups() == 2);
    r.invalidate(w5.got);  // every address failed: the next one resolves afresh
    Waiter w6;
    resolve(r, w6);
    CHECK(r.lookups() == 3);
  }
  {
    lg::proxy::Resolver zero(loop.get(), loop.get(), "localhost", 1, std::chrono::milliseconds(0), "test");
    Waiter a, b;
    resolve(zero, a);
    resolve(zero, b);
    CHECK(zero.lookups() == 2);  // ttl 0: every connection resolves
    lg::proxy::Resolver literal(loop.get(), loop.get(), "127.0.0.1", 1, std::chrono::milliseconds(0), "test");
    Waiter c;
    CHECK(literal.lookup(&c) != nullptr);  // an IP literal is never resolved
    CHECK(literal.lookups() == 0);
  }
  CHECK(loop.close());
}
