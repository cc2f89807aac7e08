// The forwarder following a probed component: hold (wait, then connect when it turns up, or
// close at hold_timeout), reject, ignore, and the cases where nothing is followed.
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "integration/proxy_harness.hpp"

using namespace lgtest::proxy;

namespace {

lg::config::ForwardSettings following(int upstream_port, lg::config::ForwardHealthMode mode, int hold_ms = 5000) {
  auto s = forward_to("127.0.0.1", upstream_port);
  s.health_component = "letta";
  s.health_mode = mode;
  s.hold_timeout = std::chrono::milliseconds(hold_ms);
  return s;
}

}  // namespace

TEST_CASE("proxy hold: a client connecting while the component is down gets through once it is up",
          "[stack][proxy]") {
  TestServer echo(echo_handler);
  ForwarderThread fw(following(echo.port(), lg::config::ForwardHealthMode::Hold), "letta");
  fw.set_component(false);
  Fd c(connect_to("127.0.0.1", fw.port()));
  REQUIRE(c.fd >= 0);
  REQUIRE(send_all(c.fd, "first bytes", 11));  // read and kept while held, not forwarded
  REQUIRE(fw.wait_held(1, 11, 5000));
  CHECK(echo.connections() == 0);  // nothing reached the upstream yet
  CHECK(wait_end(c.fd, 10) == PeerEnd::Timeout);
  CHECK(fw.metric("lettagate_proxy_connections_active") == 1);
  const double up_at = now_ms();
  fw.set_component(true);
  CHECK(recv_n(c.fd, 11, 3000) == "first bytes");
  CHECK(now_ms() - up_at < 1000);
  REQUIRE(send_all(c.fd, "more", 4));
  CHECK(recv_n(c.fd, 4, 3000) == "more");
  CHECK(echo.connections() == 1);
  CHECK(fw.metric("lettagate_proxy_connections_rejected_total", {{"reason", "hold_timeout"}}) == 0);
}

TEST_CASE("proxy hold: a held client that resets after its first bytes is closed within a second, not at the deadline",
          "[stack][proxy]") {
  // Its first chunk is kept and the client no longer read (bounded memory), so the reset is
  // found by the periodic look at the client's socket error, not by a read.
  TestServer echo(echo_handler);
  ForwarderThread fw(following(echo.port(), lg::config::ForwardHealthMode::Hold, 10000), "letta");
  fw.set_component(false);
  Fd c(connect_to("127.0.0.1", fw.port()));
  REQUIRE(c.fd >= 0);
  REQUIRE(send_all(c.fd, "first bytes", 11));
  REQUIRE(fw.wait_held(1, 11, 5000));  // its first chunk kept: the client is no longer read
  REQUIRE(fw.active() == 1);
  const double reset_at = reset_close(c);
  REQUIRE(fw.no_session_left(5000));
  CHECK(now_ms() - reset_at < 1000);  // checked every 250 ms; the hold deadline is 10 s
  CHECK(echo.connections() == 0);    // nothing was forwarded for a client that is gone
  CHECK(fw.metric("lettagate_proxy_connections_rejected_total", {{"reason", "hold_timeout"}}) == 0);
  // The forwarder goes on: the next held client still gets through once Letta is up.
  Fd d(connect_to("127.0.0.1", fw.port()));
  REQUIRE(send_all(d.fd, "next", 4));
  fw.set_component(true);
  CHECK(recv_n(d.fd, 4, 3000) == "next");
}

TEST_CASE("proxy hold: a held client that half-closed still gets its answer", "[stack][proxy]") {
  TestServer server(answer_after_eof_handler);
  ForwarderThread fw(following(server.port(), lg::config::ForwardHealthMode::Hold), "letta");
  fw.set_component(false);
  Fd c(connect_to("127.0.0.1", fw.port()));
  REQUIRE(send_all(c.fd, "question", 8));
  ::shutdown(c.fd, SHUT_WR);
  REQUIRE(fw.wait_held(1, 8, 5000));  // held with its question read (the EOF waits in the kernel)
  fw.set_component(true);
  bool eof = false;
  CHECK(recv_to_eof(c.fd, 3000, &eof) == "question");
  CHECK(eof);
}

TEST_CASE("proxy hold: the client is closed at hold_timeout when the component stays down",
          "[stack][proxy]") {
  TestServer echo(echo_handler);
  ForwarderThread fw(following(echo.port(), lg::config::ForwardHealthMode::Hold, 400), "letta");
  fw.set_component(false);
  Fd c(connect_to("127.0.0.1", fw.port()));
  double waited = 0;
  PeerEnd end = wait_end(c.fd, 5000, &waited);
  INFO("ended by " << to_string(end) << " after " << waited << " ms");
  CHECK(end == PeerEnd::Eof);
  CHECK(waited >= 350);
  CHECK(waited < 1500);
  CHECK(fw.metric("lettagate_proxy_connections_rejected_total", {{"reason", "hold_timeout"}}) == 1);
  CHECK(echo.connections() == 0);
  CHECK(fw.active() == 0);
}

TEST_CASE("proxy hold: unknown (never probed yet) counts as not up", "[stack][proxy]") {
  TestServer echo(echo_handler);
  ForwarderThread fw(following(echo.port(), lg::config::ForwardHealthMode::Hold, 300), "letta");
  Fd c(connect_to("127.0.0.1", fw.port()));
  CHECK(wait_end(c.fd, 3000) == PeerEnd::Eof);
  CHECK(fw.metric("lettagate_proxy_connections_rejected_total", {{"reason", "hold_timeout"}}) == 1);
}

TEST_CASE("proxy reject: clients are closed at once while the component is down", "[stack][proxy]") {
  TestServer echo(echo_handler);
  ForwarderThread fw(following(echo.port(), lg::config::ForwardHealthMode::Reject), "letta");
  fw.set_component(false);
  {
    Fd c(connect_to("127.0.0.1", fw.port()));
    double waited = 0;
    CHECK(wait_end(c.fd, 3000, &waited) != PeerEnd::Timeout);
    CHECK(waited < 300);
  }
  CHECK(fw.metric("lettagate_proxy_connections_rejected_total", {{"reason", "unhealthy"}}) == 1);
  CHECK(echo.connections() == 0);
  fw.set_component(true);
  Fd c(connect_to("127.0.0.1", fw.port()));
  REQUIRE(send_all(c.fd, "up", 2));
  CHECK(recv_n(c.fd, 2, 3000) == "up");
}

TEST_CASE("proxy ignore: clients are forwarded while the component is down", "[stack][proxy]") {
  TestServer echo(echo_handler);
  ForwarderThread fw(following(echo.port(), lg::config::ForwardHealthMode::Ignore), "letta");
  fw.set_component(false);
  Fd c(connect_to("127.0.0.1", fw.port()));
  REQUIRE(send_all(c.fd, "anyway", 6));
  CHECK(recv_n(c.fd, 6, 3000) == "anyway");
}

TEST_CASE("proxy: a component that is not probed is not followed (forward as ignore)", "[stack][proxy]") {
  TestServer echo(echo_handler);
  // Follows "letta", but the health state has no such component.
  ForwarderThread fw(following(echo.port(), lg::config::ForwardHealthMode::Reject), "postgres");
  Fd c(connect_to("127.0.0.1", fw.port()));
  REQUIRE(send_all(c.fd, "free", 4));
  CHECK(recv_n(c.fd, 4, 3000) == "free");
}

TEST_CASE("proxy: a health change never cuts a stream already open", "[stack][proxy]") {
  TestServer echo(echo_handler);
  ForwarderThread fw(following(echo.port(), lg::config::ForwardHealthMode::Reject), "letta");
  fw.set_component(true);
  Fd c(connect_to("127.0.0.1", fw.port()));
  REQUIRE(send_all(c.fd, "a", 1));
  REQUIRE(recv_n(c.fd, 1, 3000) == "a");
  fw.set_component(false);
  REQUIRE(send_all(c.fd, "b", 1));
  CHECK(recv_n(c.fd, 1, 3000) == "b");
}

TEST_CASE("proxy: a route follows its own component (@COMPONENT) or none (@off), else --forward-health",
          "[stack][proxy]") {
  TestServer echo(echo_handler);
  auto s = forward_to("127.0.0.1", echo.port());
  s.health_mode = lg::config::ForwardHealthMode::Reject;
  s.health_component = "";       // the global setting follows nothing...
  s.routes[0].health = "letta";  // ...but route 0 names letta
  auto r1 = s.routes[0];
  r1.name += "#1";
  r1.health = std::nullopt;      // route 1: the global setting (none)
  r1.listen.port = 0;
  s.routes.push_back(r1);
  ForwarderThread fw(s, "letta");
  fw.set_component(false);
  {
    Fd c(connect_to("127.0.0.1", fw.port(0)));
    CHECK(wait_end(c.fd, 3000) != PeerEnd::Timeout);  // rejected: letta is down
  }
  CHECK(fw.metric("lettagate_proxy_connections_rejected_total", {{"reason", "unhealthy"}}) == 1);
  {
    Fd c(connect_to("127.0.0.1", fw.port(1)));
    REQUIRE(send_all(c.fd, "free", 4));
    CHECK(recv_n(c.fd, 4, 3000) == "free");  // follows nothing
  }
  fw.set_component(true);
  Fd c(connect_to("127.0.0.1", fw.port(0)));
  REQUIRE(send_all(c.fd, "back", 4));
  CHECK(recv_n(c.fd, 4, 3000) == "back");
}
