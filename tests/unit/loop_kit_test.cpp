// The lifetime kit in src/core on a real loop (sockets on 127.0.0.1 only, opened by the test):
// Defer runs later and never inside its caller, EveryTurn runs once per turn only while started,
// DnsQuery never answers from inside start() and never after cancel(), a HandleGroup frees its
// owner when the last handle has closed, and the Connector tries addresses in turn. Every test ends with uv_loop_close() == 0: nothing left open
// (and, in the sanitized build, nothing leaked).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <catch2/catch.hpp>
#include <vector>

#include "core/connector.hpp"
#include "core/defer.hpp"
#include "core/dns_query.hpp"
#include "core/every_turn.hpp"
#include "core/handle.hpp"
#include "core/handle_group.hpp"

namespace {

struct Loop {
  Loop() { uv_loop_init(&loop); }
  ~Loop() {
    uv_run(&loop, UV_RUN_DEFAULT);  // close callbacks
    CHECK(uv_loop_close(&loop) == 0);
  }
  uv_loop_t loop{};
};

// A socket bound to 127.0.0.1 on a port of the kernel's choosing; listening or not (a bound
// socket that does not listen refuses connections, and keeps its port from anyone else).
class LocalSocket {
 public:
  explicit LocalSocket(bool listening) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    if (listening) REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    addr_ = *lg::core::parse_ip_literal("127.0.0.1", ntohs(a.sin_port));
  }
  ~LocalSocket() { ::close(fd_); }
  const sockaddr_storage& addr() const { return addr_; }

 private:
  int fd_ = -1;
  sockaddr_storage addr_{};
};

// An owner as the kit wants one: created with new, freed by its group once its socket is closed.
class Dialer final : lg::core::Connector::Client {
 public:
  static Dialer* start(uv_loop_t* loop, lg::core::Addresses addresses, std::vector<int>& results, bool& freed) {
    auto* d = new Dialer(loop, results, freed);
    d->connector_.start(std::move(addresses), lg::core::Millis{0});
    return d;
  }
  void cancel() { end(); }

 private:
  friend class lg::core::HandleGroup;
  Dialer(uv_loop_t* loop, std::vector<int>& results, bool& freed)
      : connector_(loop, group_, socket_, this, *this), results_(results), freed_(freed) {}
  ~Dialer() { freed_ = true; }
  void on_connected() override { answer(0); }
  void on_connect_failed(int status) override { answer(status); }
  void answer(int status) {
    results_.push_back(status);
    end();
  }
  void end() {
    connector_.cancel();
    socket_.close();
    group_.close();
  }

  lg::core::HandleGroup group_{this};
  lg::core::Handle<uv_tcp_t> socket_{group_};
  lg::core::Connector connector_;
  std::vector<int>& results_;
  bool& freed_;
};

lg::core::Addresses list(std::initializer_list<sockaddr_storage> a) {
  return std::make_shared<const lg::core::AddressList>(a);
}

}  // namespace

TEST_CASE("defer: runs on a later turn, once per schedule, never after close", "[unit][kit]") {
  Loop l;
  int runs = 0;
  lg::core::Defer* d = lg::core::Defer::create(&l.loop, [&] { ++runs; });
  d->schedule();
  d->schedule();  // already scheduled: still once
  CHECK(runs == 0);
  uv_run(&l.loop, UV_RUN_NOWAIT);
  CHECK(runs == 1);
  uv_run(&l.loop, UV_RUN_NOWAIT);
  CHECK(runs == 1);
  d->schedule();
  d->close();  // before it ran: it never does
  uv_run(&l.loop, UV_RUN_NOWAIT);
  CHECK(runs == 1);
}

TEST_CASE("defer: a callback that schedules again runs once per turn, not in the same pass", "[unit][kit]") {
  Loop l;
  int runs = 0;
  lg::core::Defer* d = nullptr;
  d = lg::core::Defer::create(&l.loop, [&] {
    if (++runs < 5) d->schedule();
  });
  d->schedule();
  for (int turn = 1; turn <= 5; ++turn) {
    uv_run(&l.loop, UV_RUN_ONCE);
    CHECK(runs == turn);
  }
  d->close();
}

TEST_CASE("defer: once() runs its callback later and closes itself", "[unit][kit]") {
  Loop l;
  int runs = 0;
  lg::core::Defer::once(&l.loop, [&] { ++runs; });
  CHECK(runs == 0);
  uv_run(&l.loop, UV_RUN_DEFAULT);  // returns: the Defer closed itself
  CHECK(runs == 1);
}

TEST_CASE("every turn: silent until start(), once per turn while started, stop() from its callback holds", "[unit][kit]") {
  Loop l;
  uv_async_t alive;  // EveryTurn never keeps a loop turning by itself (a server's listener does)
  uv_async_init(&l.loop, &alive, nullptr);
  int runs = 0;
  lg::core::EveryTurn* t = nullptr;
  t = lg::core::EveryTurn::create(&l.loop, [&] {
    if (++runs == 3) t->stop();
  });
  uv_run(&l.loop, UV_RUN_NOWAIT);
  CHECK(runs == 0);  // created stopped: an idle owner costs the loop nothing
  t->start();
  t->start();  // started already: still once per turn
  for (int turn = 1; turn <= 5; ++turn) uv_run(&l.loop, UV_RUN_NOWAIT);
  CHECK(runs == 3);  // stopped itself on the third
  t->start();
  uv_run(&l.loop, UV_RUN_NOWAIT);
  CHECK(runs == 4);
  t->close();  // while started: it never runs again
  uv_run(&l.loop, UV_RUN_NOWAIT);
  CHECK(runs == 4);
  uv_close(reinterpret_cast<uv_handle_t*>(&alive), nullptr);
}

TEST_CASE("dns query: answers later, an IP literal without the resolver, a refused lookup too", "[unit][kit]") {
  Loop l;
  std::vector<int> statuses;  // literal, refused
  int literal = 1, refused = 0;
  lg::core::Addresses got;
  lg::core::DnsQuery::start(&l.loop, "127.0.0.1", 8283, [&](int status, const lg::core::Addresses& a) {
    statuses.push_back(status);
    literal = status;
    got = a;
  });
  // Longer than a host name may be: libuv's IDNA conversion refuses it inside uv_getaddrinfo.
  lg::core::DnsQuery::start(&l.loop, std::string(300, 'a') + ".example", 80,
                            [&](int status, const lg::core::Addresses& a) {
                              statuses.push_back(status);
                              refused = status;
                              CHECK(a == nullptr);
                            });
  CHECK(statuses.empty());  // never from inside start()
  uv_run(&l.loop, UV_RUN_DEFAULT);
  REQUIRE(statuses.size() == 2);
  CHECK(literal == 0);
  REQUIRE(got);
  REQUIRE(got->size() == 1);
  CHECK(lg::core::format_address(got->front()) == "127.0.0.1:8283");
  CHECK(refused != 0);
}

TEST_CASE("dns query: a name from /etc/hosts resolves on the thread pool, and cancel() silences it", "[unit][kit]") {
  Loop l;
  int answers = 0;
  lg::core::Addresses got;
  lg::core::DnsQuery::start(&l.loop, "localhost", 5432, [&](int status, const lg::core::Addresses& a) {
    ++answers;
    CHECK(status == 0);
    got = a;
  });
  lg::core::DnsQuery* silenced =
      lg::core::DnsQuery::start(&l.loop, "localhost", 5432, [&](int, const lg::core::Addresses&) { ++answers; });
  silenced->cancel();
  uv_run(&l.loop, UV_RUN_DEFAULT);
  CHECK(answers == 1);
  REQUIRE(got);
  for (const auto& a : *got) CHECK((lg::core::ip_text(a) == "127.0.0.1" || lg::core::ip_text(a) == "::1"));
}

TEST_CASE("connector: tries each address in turn, and its owner is freed when its socket has closed", "[unit][kit]") {
  Loop l;
  LocalSocket refusing(false), listening(true);
  std::vector<int> results;
  bool freed = false;
  Dialer::start(&l.loop, list({refusing.addr(), listening.addr()}), results, freed);
  CHECK(results.empty());  // never from inside start()
  uv_run(&l.loop, UV_RUN_DEFAULT);
  REQUIRE(results.size() == 1);
  CHECK(results[0] == 0);  // the refused address first, then the listening one
  CHECK(freed);
}

TEST_CASE("connector: every address refused reports the last error, and cancel() silences it", "[unit][kit]") {
  Loop l;
  LocalSocket a(false), b(false);
  std::vector<int> results, cancelled;
  bool freed = false, freed_cancelled = false;
  Dialer::start(&l.loop, list({a.addr(), b.addr()}), results, freed);
  Dialer* c = Dialer::start(&l.loop, list({a.addr()}), cancelled, freed_cancelled);
  c->cancel();
  uv_run(&l.loop, UV_RUN_DEFAULT);
  REQUIRE(results.size() == 1);
  CHECK(results[0] == UV_ECONNREFUSED);
  CHECK(cancelled.empty());
  CHECK(freed);
  CHECK(freed_cancelled);
}
