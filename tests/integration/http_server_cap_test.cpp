// The health server at its connection cap (against the real binary): a newcomer takes the
// place of the connection that has waited longest on its client; it is refused only when every
// open connection is too new to have had a chance.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "integration/http_server_harness.hpp"

using lgtest::RawConn;
using namespace lgtest::http_server;
using lgtest::wait_quiet;

// At the cap a newcomer takes the place of the connection that has waited longest on its
// client.
TEST_CASE("at the connection cap the least recently active connection makes room", "[http][unit]") {
  Server s("--max-connections 2");
  // One more GET /livez on `conn`, answered 200 (`n` answers on it so far, this one included).
  auto served = [&](RawConn& conn, int n) {
    return conn.send(kGet) && count(conn.read_until("ok\n", n, 2000), "HTTP/1.1 200 OK\r\n") == n;
  };
  {
    RawConn a(s.port), b(s.port);
    REQUIRE(served(a, 1));
    REQUIRE(served(b, 1));
    RawConn c(s.port);  // a has been idle longest: it goes, c is served
    CHECK(served(c, 1));
    CHECK(a.read_to_eof(2000));
    CHECK(served(b, 2));  // b shows life: now c has been idle longest
    RawConn d(s.port);
    CHECK(served(d, 1));
    CHECK(c.read_to_eof(2000));
    // Two evicted (a, c), none refused, two open (b, d).
    auto m = scrape_on(b, 2);
    REQUIRE(m);
    INFO(m->text());
    CHECK(m->get("lettagate_http_connections_evicted_total") == 2);
    CHECK(m->get("lettagate_http_connections_rejected_total") == 0);
    CHECK(m->get("lettagate_http_connections_active") == 2);
  }
}

// A newcomer is safe until its socket has been polled once: when every open connection is
// that new, the next one is refused (503). Here two arrive while the server is stopped, with a
// cap of 1: the first is accepted, the second waits for the next loop turn (accepts spread
// over turns), when the first has not yet been polled.
TEST_CASE("at the connection cap a newcomer is refused only when every connection is newer than a poll",
          "[http][stack]") {
  Server s("--max-connections 1");
  kill(s.pid(), SIGSTOP);
  auto stopped = [&] {
    std::ifstream stat("/proc/" + std::to_string(s.pid()) + "/stat");
    std::string line;
    std::getline(stat, line);
    const auto paren = line.rfind(')');
    return paren != std::string::npos && line.compare(paren + 2, 1, "T") == 0;
  };
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (!stopped() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(stopped());
  {
    RawConn x(s.port), y(s.port);
    kill(s.pid(), SIGCONT);
    CHECK(y.read_to_eof(3000));
    CHECK_THAT(y.data(), Catch::StartsWith("HTTP/1.1 503"));
    CHECK_THAT(y.data(), Catch::Contains("too many connections"));
    REQUIRE(x.send(kGet));
    CHECK_THAT(x.read_until("ok\n", 1, 2000), Catch::StartsWith("HTTP/1.1 200"));
    auto m = scrape_on(x, 1);
    REQUIRE(m);
    INFO(m->text());
    CHECK(m->get("lettagate_http_connections_rejected_total") == 1);
    CHECK(m->get("lettagate_http_connections_evicted_total") == 0);
  }
}

// A connection stalled on answers its client does not read (its input paused, the kernel's
// buffers full) waits on its client as an idle one does: at the cap it makes room too.
TEST_CASE("at the connection cap a connection stalled on unread answers makes room", "[http][stack]") {
  Server s("--max-connections 1");
  RawConn stalled(s.port);
  std::string burst;
  while (burst.size() < 64 * 1024) burst += "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  REQUIRE(stalled.send(burst));
  wait_quiet(s.pid());
  RawConn c(s.port);
  REQUIRE(c.send(kGet));
  CHECK_THAT(c.read_until("ok\n", 1, 2000), Catch::StartsWith("HTTP/1.1 200"));
  CHECK(stalled.read_to_eof(5000));  // what was sent before the close, then the close
  CHECK(count(stalled.data(), "HTTP/1.1 200 OK\r\n") > 10);
}
