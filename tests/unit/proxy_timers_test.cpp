// The forwarder's timers on a clock the test moves (ManualClock): the hold deadline
// (--forward-hold: a client held while its component is down is closed at hold_timeout, counted)
// and the optional idle timeout (a silent streaming connection is closed when idle that long;
// traffic moves it). The forwarder runs on a real loop with loopback sockets made by the test;
// only time is fake, so each timer is seen to fire exactly when due, with no sleep.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <string>

#include "core/manual_clock.hpp"
#include "metrics/registry.hpp"
#include "probes/health_state.hpp"
#include "proxy/forwarder.hpp"
#include "support/peer.hpp"
#include "support/scrape.hpp"
#include "support/test_env.hpp"
#include "support/test_loop.hpp"

namespace {

using namespace std::chrono_literals;
using Forwarder = lg::proxy::BasicForwarder<lg::core::ManualClock>;

using lgtest::Peer;

// Following `letta` in hold mode, held at most 2 s.
void hold_2s(lg::config::ForwardSettings& s) {
  s.health_component = "letta";
  s.health_mode = lg::config::ForwardHealthMode::Hold;
  s.hold_timeout = 2000ms;
}

// One route from 127.0.0.1:0 to an upstream listener of the test's, on a ManualClock.
struct Fixture {
  lg::core::ManualTime time;
  lgtest::TestLoop loop;
  lg::metrics::Registry registry;
  lg::probes::HealthState health;
  lg::probes::Component* letta = nullptr;
  int upstream_listener = -1;
  std::unique_ptr<Forwarder> forwarder;
  std::unique_ptr<Peer> client;
  Peer upstream;
  uint64_t sent = 0;

  explicit Fixture(const std::function<void(lg::config::ForwardSettings&)>& tune) {
    letta = &health.add("letta", true, "test");  // status unknown: not up
    int upstream_port = 0;
    upstream_listener = lgtest::bind_loopback(&upstream_port, SOCK_NONBLOCK);
    REQUIRE(listen(upstream_listener, 4) == 0);
    lg::config::ForwardSettings s;
    lg::config::ForwardRoute r;
    r.listen = lg::core::HostPort{"127.0.0.1", 0};
    r.upstream = lg::core::HostPort{"127.0.0.1", static_cast<uint16_t>(upstream_port)};
    r.name = "test";
    s.routes.push_back(r);
    s.health_component = "";
    tune(s);
    forwarder = std::make_unique<Forwarder>(loop.get(), lg::core::ManualClock(time), s, health, registry);
    std::string error;
    const bool started = forwarder->start(&error);
    INFO(error);
    REQUIRE(started);
    client = std::make_unique<Peer>(forwarder->ports().at(0));  // the kernel's backlog
    REQUIRE(loop.run_until([&] { return forwarder->active_sessions() == 1; }, 5000ms));
  }
  ~Fixture() {
    forwarder.reset();  // closes every session; the TestLoop checks their handles closed
    close(upstream_listener);
  }

  void send(const std::string& bytes) {
    client->send(bytes);
    sent += bytes.size();
  }
  // Runs the loop until the forwarder connected to the upstream and the test accepted it.
  void accept_upstream() {
    REQUIRE(loop.run_until(
        [&] {
          if (upstream.fd < 0) upstream.fd = accept4(upstream_listener, nullptr, nullptr, SOCK_CLOEXEC);
          return upstream.fd >= 0 && connected() == 1;
        },
        5000ms));
  }
  // Sessions that reached the upstream (the connect histogram's count).
  double connected() {
    return lgtest::Scrape(registry.expose()).counter("lettagate_proxy_upstream_connect_seconds_count");
  }
  double rejected(const std::string& reason) {
    return lgtest::Scrape(registry.expose())
        .counter("lettagate_proxy_connections_rejected_total", {{"reason", reason}});
  }
  bool client_sees_eof() { return client->wait(loop, [&] { return client->eof; }); }
};

}  // namespace

TEST_CASE("proxy timers: a held client is closed at hold_timeout to the millisecond, counted", "[unit][proxy]") {
  Fixture f(hold_2s);
  f.send("first bytes");
  // Held, its first bytes read and kept (from then on its socket is looked at every 250 ms).
  REQUIRE(f.loop.run_until([&] { return f.forwarder->held_sessions() == 1 && lgtest::sockets_read(f.loop.get(), 11); },
                           5000ms));
  f.time.advance(1999ms);
  f.client->pump();
  CHECK_FALSE(f.client->eof);
  CHECK(f.forwarder->held_sessions() == 1);
  CHECK(f.rejected("hold_timeout") == 0);
  f.time.advance(1ms);
  CHECK(f.forwarder->active_sessions() == 0);
  CHECK(f.rejected("hold_timeout") == 1);
  CHECK(f.client_sees_eof());
  CHECK(f.client->got.empty());
  CHECK(f.connected() == 0);  // nothing went upstream
}

TEST_CASE("proxy timers: a held client released before hold_timeout is forwarded, never timed out",
          "[unit][proxy]") {
  Fixture f(hold_2s);
  f.send("first bytes");
  REQUIRE(f.loop.run_until([&] { return f.forwarder->held_sessions() == 1 && lgtest::sockets_read(f.loop.get(), 11); },
                           5000ms));
  f.time.advance(1999ms);
  f.health.record(*f.letta, lg::probes::Outcome::success(), 1, 1, false);  // up: released
  f.accept_upstream();
  REQUIRE(f.upstream.wait(f.loop, [&] { return f.upstream.got == "first bytes"; }));
  f.time.advance(60000ms);  // long past the hold deadline: the session streams on
  CHECK(f.forwarder->active_sessions() == 1);
  CHECK(f.rejected("hold_timeout") == 0);
}

TEST_CASE("proxy timers: the idle timeout closes a silent connection when idle that long, traffic moves it",
          "[unit][proxy]") {
  Fixture f([](lg::config::ForwardSettings& s) { s.idle_timeout = 300ms; });
  f.accept_upstream();
  // Traffic at 200 ms: the connection is now idle from there.
  f.time.advance(200ms);
  f.send("k");
  REQUIRE(f.upstream.wait(f.loop, [&] { return f.upstream.got == "k"; }));
  f.time.advance(299ms);  // 499 ms since the start, 299 ms of silence
  f.client->pump();
  CHECK_FALSE(f.client->eof);
  CHECK(f.forwarder->active_sessions() == 1);
  f.time.advance(1ms);
  CHECK(f.forwarder->active_sessions() == 0);
  CHECK(f.client_sees_eof());
}

TEST_CASE("proxy timers: without an idle timeout a silent connection stays open", "[unit][proxy]") {
  Fixture f([](lg::config::ForwardSettings&) {});
  f.accept_upstream();
  f.time.advance(24h);
  CHECK(f.forwarder->active_sessions() == 1);
  CHECK(f.time.armed() == 0);  // no timer at all while streaming: nothing to fire
}
