#pragma once
// HttpServer: the health and metrics endpoint. HTTP/1.1 on llhttp with keep-alive, HEAD,
// pipelined requests answered in order, a header size limit (431), an absolute header
// deadline against slow clients (408), an idle keep-alive timeout, a body limit (413) and
// a connection cap: at the cap a newcomer takes the place of the connection that has waited
// longest on its client (idle, a partial request, or answers it does not read); only when every
// open connection is too new to have had a chance to send its request is it refused (503).
// Handlers are synchronous: they build the Response on the spot.
//
// Written against a Clock (core/loop_clock.hpp) for its connections' deadlines (header,
// keep-alive idle, linger): HttpServer runs on the loop's time; the deadline tests run
// BasicHttpServer<ManualClock> on a real loop and fire the deadlines by advancing the clock.
#include <uv.h>

#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/acceptor.hpp"
#include "core/defer.hpp"
#include "core/duration.hpp"
#include "core/every_turn.hpp"
#include "core/host_port.hpp"
#include "core/loop_clock.hpp"
#include "http/connection_list.hpp"
#include "http/http_message.hpp"
#include "metrics/registry.hpp"

namespace lg::http {

template <class Clock>
class BasicHttpConnection;

struct HttpServerOptions {
  size_t max_header_bytes = 8192;
  size_t max_body_bytes = 64 * 1024;
  core::Millis header_timeout{5000};
  core::Millis keepalive_timeout{60000};
  int max_connections = 512;
};

template <class Clock>
class BasicHttpServer {
 public:
  using Handler = std::function<Response(const Request&)>;
  using Options = HttpServerOptions;
  using Connection = BasicHttpConnection<Clock>;

  BasicHttpServer(uv_loop_t* loop, Clock clock, Options options, Handler handler, metrics::Registry* registry = nullptr);
  // Production: the loop's own clock. (A member template: an explicit instantiation for
  // another Clock leaves it alone.)
  template <class C = Clock>
  requires std::is_same_v<C, core::LoopClock> BasicHttpServer(uv_loop_t* loop, Options options, Handler handler,
                                                              metrics::Registry* registry = nullptr)
      : BasicHttpServer(loop, C(loop), options, std::move(handler), registry) {}
  ~BasicHttpServer();
  BasicHttpServer(const BasicHttpServer&) = delete;
  BasicHttpServer& operator=(const BasicHttpServer&) = delete;

  // Binds and listens; returns 0 or a libuv error code (message in *error).
  int listen(const core::HostPort& address, std::string* error);
  int port() const { return port_; }
  // Closes the listener; open connections are answered and then closed (Connection: close).
  void stop_listening();
  // Closes the listener and every connection now.
  void close_all();
  size_t connection_count() const { return fresh_.size() + first_poll_.size() + waiting_.size(); }

 private:
  friend class BasicHttpConnection<Clock>;
  void accept_one(int fd);
  // Once per loop turn, before polling, while a connection is still to age or the turn has
  // answered (turns_ is stopped otherwise): connections age from fresh_ to first_poll_ to
  // waiting_, and the turn's answers start again from none.
  void on_turn();
  // Counts an answer against the turn's; true when the turn has had its share: the connection
  // then answers the rest of what it read in a later turn (as when its output is full).
  bool spend_answer();
  // At the cap: closes the connection that has waited longest on its client, if one has had
  // its chance to send a request. False when nothing was closed.
  bool make_room();
  void forget(Connection* c);
  void touch(Connection* c);
  std::vector<Connection*> all_connections() const;
  // A connection whose input is paused saw its output drain: it parses on in the next loop
  // turn, after the loop has polled (never in the callback that saw the drain: libuv runs write
  // callbacks queued by callbacks in the same pass, so resuming there would answer a whole burst
  // without polling once). cancel_resume() when it closes.
  void schedule_resume(Connection* c);
  void cancel_resume(Connection* c);
  void run_resumes();
  // lettagate_http_requests_total{path,code} += 1. The children are looked up once per
  // (route, code) and kept: no label vectors built per request.
  void count_request(std::string_view path, int status);

  uv_loop_t* loop_;
  Clock clock_;
  Options options_;
  Handler handler_;
  core::Acceptor* listener_ = nullptr;  // frees itself after close()
  core::EveryTurn* turns_ = nullptr;    // runs on_turn()
  // Answers built per loop turn: pipelined requests beyond it wait for a later turn, so however
  // many connections pipeline, a turn (and a /livez from elsewhere) waits for at most this many.
  static constexpr int kAnswersPerTurn = 16;
  int answers_this_turn_ = 0;
  // Accepts per loop turn (the Acceptor's), so a burst of newcomers (more than the cap, say)
  // spreads over turns and each newcomer finds older connections to take the place of. The
  // rest wait in the kernel's queue; on EMFILE the Acceptor pauses with a back-off.
  int accepts_per_turn_ = 1;
  // Scheduled while connections wait in to_resume_: runs run_resumes() once per turn.
  core::Defer* resumer_ = nullptr;
  std::deque<Connection*> to_resume_;
  int port_ = 0;
  bool stopping_ = false;
  // Every open connection is in exactly one of these. A newcomer is fresh_ in the turn it is
  // accepted and first_poll_ in the next (libuv polls its socket for the first time then); after
  // that, or once it has been read from, it is in waiting_, least recently active first: the
  // only ones make_room() closes.
  ConnectionList<Connection> fresh_;
  ConnectionList<Connection> first_poll_;
  ConnectionList<Connection> waiting_;
  metrics::Family<metrics::Counter>* requests_ = nullptr;
  struct RequestCounter {
    int route;  // index in the known routes, or the last one ("other")
    int status;
    metrics::Counter* counter;
  };
  std::vector<RequestCounter> request_counters_;
  metrics::Gauge* active_ = nullptr;
  metrics::Counter* rejected_ = nullptr;
  metrics::Counter* evicted_ = nullptr;
  metrics::Counter* timeouts_ = nullptr;
  char read_buffer_[64 * 1024];  // shared: reads are handled one at a time on the loop
};

using HttpServer = BasicHttpServer<core::LoopClock>;

}  // namespace lg::http
