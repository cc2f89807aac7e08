// The health server's deadlines on a clock the test moves (ManualClock): the header deadline
// (408, counted), the first request's deadline from accept (a client that never sends), the
// keep-alive idle timeout and the linger after a final answer. The server runs on a real loop
// with a loopback client socket; only time is fake, so each deadline is seen to fire exactly
// when due and not a millisecond before, with no sleep.
#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "core/manual_clock.hpp"
#include "http/http_server.hpp"
#include "metrics/registry.hpp"
#include "support/peer.hpp"
#include "support/scrape.hpp"
#include "support/test_loop.hpp"

namespace {

using namespace std::chrono_literals;
using Server = lg::http::BasicHttpServer<lg::core::ManualClock>;

// One server on a ManualClock and one loopback client, driven by the test.
struct Fixture {
  lg::core::ManualTime time;
  lgtest::TestLoop loop;
  lg::metrics::Registry registry;
  Server server;
  std::unique_ptr<lgtest::Peer> client;
  uint64_t sent = 0;

  explicit Fixture(lg::http::HttpServerOptions options)
      : server(
            loop.get(), lg::core::ManualClock(time), options,
            [](const lg::http::Request&) { return lg::http::Response::text(200, "ok\n"); }, &registry) {
    std::string error;
    REQUIRE(server.listen(lg::core::HostPort{"127.0.0.1", 0}, &error) == 0);
    client = std::make_unique<lgtest::Peer>(server.port());  // the kernel's backlog
    REQUIRE(loop.run_until([&] { return server.connection_count() == 1; }, 5000ms));
  }
  ~Fixture() {
    client.reset();
    server.close_all();
  }

  void send(const std::string& bytes) {
    client->send(bytes);
    sent += bytes.size();
    REQUIRE(loop.run_until([&] { return lgtest::sockets_read(loop.get(), sent); }, 5000ms));
  }
  bool client_sees(const std::string& text) {
    return client->wait(loop, [&] { return client->got.find(text) != std::string::npos; });
  }
  bool client_sees_eof() { return client->wait(loop, [&] { return client->eof; }); }
  double timeouts() { return lgtest::Scrape(registry.expose()).counter("lettagate_http_request_timeouts_total"); }
  // One loop turn without waiting: the loop acts on what the clock fired.
  void settle() { uv_run(loop.get(), UV_RUN_NOWAIT); }
};

lg::http::HttpServerOptions options() {
  lg::http::HttpServerOptions o;
  o.header_timeout = 300ms;
  o.keepalive_timeout = 5000ms;
  return o;
}

}  // namespace

TEST_CASE("http deadlines: a partial request is answered 408 at the header deadline, counted, then lingers 2 s",
          "[unit][http]") {
  Fixture f(options());
  f.send("GET /livez HTTP/1.1\r\nHost: x\r\n");  // no blank line: the head never ends
  f.time.advance(299ms);
  f.client->pump();
  CHECK(f.client->got.empty());
  CHECK(f.timeouts() == 0);
  f.time.advance(1ms);
  REQUIRE(f.client_sees("HTTP/1.1 408 "));
  CHECK(f.client->got.find("Connection: close") != std::string::npos);
  CHECK(f.timeouts() == 1);
  // Half-closed (the client reads EOF) but kept open to drain unread input for the linger.
  REQUIRE(f.client_sees_eof());
  CHECK(f.server.connection_count() == 1);
  f.time.advance(1999ms);
  f.settle();
  CHECK(f.server.connection_count() == 1);
  f.time.advance(1ms);
  f.settle();
  CHECK(f.server.connection_count() == 0);
}

TEST_CASE("http deadlines: the linger lasts while the client keeps sending, 2 s past its last byte, 10 s at most",
          "[unit][http]") {
  Fixture f(options());
  // A body over the limit (64 KiB): answered 413 once past it, the rest of the upload discarded.
  f.send("POST /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n" + std::string(70 * 1024, 'c'));
  REQUIRE(f.client_sees("HTTP/1.1 413 "));
  REQUIRE(f.client_sees_eof());
  // Still uploading (a slow client): each read moves the end to 2 s after it.
  for (int i = 0; i < 3; ++i) {
    f.time.advance(1500ms);
    f.settle();
    REQUIRE(f.server.connection_count() == 1);
    f.send(std::string(1024, 'x'));
  }
  // Quiet from here (4.5 s since the answer): closed 2 s after the last byte, not before.
  f.time.advance(1999ms);
  f.settle();
  CHECK(f.server.connection_count() == 1);
  f.time.advance(1ms);
  f.settle();
  CHECK(f.server.connection_count() == 0);
}

TEST_CASE("http deadlines: a client that sends for ever is closed 10 s after the answer", "[unit][http]") {
  Fixture f(options());
  f.send("POST /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n" + std::string(70 * 1024, 'c'));
  REQUIRE(f.client_sees("HTTP/1.1 413 "));
  for (int i = 0; i < 9; ++i) {
    f.time.advance(1000ms);
    f.send(std::string(1024, 'x'));
  }
  f.time.advance(999ms);  // 9.999 s
  f.settle();
  CHECK(f.server.connection_count() == 1);
  f.time.advance(1ms);
  f.settle();
  CHECK(f.server.connection_count() == 0);
}

TEST_CASE("http deadlines: a client that never sends a byte is cut at the header deadline from accept",
          "[unit][http]") {
  Fixture f(options());
  f.time.advance(299ms);
  f.settle();
  CHECK(f.server.connection_count() == 1);
  f.time.advance(1ms);
  CHECK(f.server.connection_count() == 0);
  CHECK(f.timeouts() == 1);
  REQUIRE(f.client_sees_eof());
  CHECK(f.client->got.empty());  // closed without an answer
}

TEST_CASE("http deadlines: an idle keep-alive connection closes at the keep-alive timeout, uncounted",
          "[unit][http]") {
  Fixture f(options());
  f.send("GET /livez HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(f.client_sees("ok\n"));
  // Answered: the header deadline no longer applies, the idle one does.
  f.time.advance(4999ms);
  f.settle();
  CHECK(f.server.connection_count() == 1);
  f.time.advance(1ms);
  CHECK(f.server.connection_count() == 0);
  REQUIRE(f.client_sees_eof());
  CHECK(f.timeouts() == 0);
}

TEST_CASE("http deadlines: a later request's header deadline runs from its first byte, cutting the idle wait",
          "[unit][http]") {
  Fixture f(options());
  f.send("GET /livez HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(f.client_sees("ok\n"));
  f.time.advance(1000ms);
  f.client->got.clear();
  f.send("GET /livez HTTP/1.1\r\n");  // the keep-alive deadline is 4 s away: the header one is earlier
  f.time.advance(299ms);
  f.client->pump();
  CHECK(f.client->got.empty());
  f.time.advance(1ms);
  REQUIRE(f.client_sees("HTTP/1.1 408 "));
  CHECK(f.timeouts() == 1);
}
