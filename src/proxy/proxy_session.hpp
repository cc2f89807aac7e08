#pragma once
// ProxySession: one proxied client connection (a session). It owns three handles, the client
// socket, the upstream socket and one timer: Handle<> members of its HandleGroup, which frees
// it once close() was called and the last close callback has run (core/handle_group.hpp).
// Written against a Clock (core/loop_clock.hpp) for its timer and idle time: ProxySession runs on
// the loop's; the hold and idle tests run BasicProxySession<ManualClock> (through
// BasicForwarder<ManualClock>) and fire them by advancing the clock.
// Requests (connect, write, shutdown) live inside it or inside pool blocks; libuv runs their
// callbacks (UV_ECANCELED when closing) before the close callbacks, so nothing fires on freed
// memory. The upstream is connected by a Connector (each address in turn); the deadline per
// address is the session's timer, which also serves the hold deadline.
//
//   Accepted --hold()--> Holding --release()--> Resolving --> Connecting --> Streaming
//        \--connect()------------------------------^  ^            |  (next address on failure)
//                                                      |            v  (every address failed)
//                                                      +--------- Retrying (a pause, backed off)
//   any state --close()--> Closing (handles closing; deleted in the last close callback)
//
// A failed upstream connect (refused, unresolvable, timed out) happens before any byte was sent
// upstream, so it is retried: the client waits in Retrying (25 ms doubling to 500 ms, with
// jitter: connect_backoff.hpp) and connects again, until --forward-hold after its accept has
// passed; only a failure after that closes it (counted by reason, as before). A restart of the
// upstream is then a pause for the app, not an error, whether or not the probes saw it. Not in
// reject mode (those apps asked to learn at once). Bytes are never replayed: once streaming, a
// broken upstream breaks the session.
//
// Before the upstream is connected the client is read once (at most one block), so a client
// that resets or sends EOF while held is noticed and its first bytes (a request, a startup
// packet) are forwarded as soon as the upstream answers. Then two Pipes carry the bytes.
// The one timer serves the state: hold deadline, connect deadline (per address tried), or
// while streaming the optional idle check and, while a pipe is paused for backpressure (its
// source not read, so not polled), a periodic look for a reset on that source. Before
// streaming, once the client's first chunk is kept (the client not read), it also looks for
// a reset on the client every 250 ms.
//
// Drain: drain() closes the session at once when it is idle by HTTP's rules (HttpExchanges:
// every request answered, nothing partly sent either way, no write queued), or as soon as it
// becomes idle; a session whose bytes are not plain HTTP/1.x exchanges runs until it closes
// (or the drain times out), as any TCP connection. Held and connecting sessions are judged
// once they stream.
//
// A session talks to its Route until it closes; close() drops that link, so a closing session
// never touches the Route (or the metrics) again, even if the Route is gone by then.
#include <uv.h>

#include <cstdint>
#include <list>
#include <memory>

#include "core/connector.hpp"
#include "core/duration.hpp"
#include "core/handle.hpp"
#include "proxy/buffer_pool.hpp"
#include "proxy/http_exchanges.hpp"
#include "proxy/pipe.hpp"
#include "proxy/resolver.hpp"
#include "proxy/session_timer.hpp"

namespace lg::proxy {

template <class Clock>
class BasicRoute;

template <class Clock>
class BasicProxySession final : public PipeOwner, public ResolveWaiter, core::Connector::Client {
 public:
  using Route = BasicRoute<Clock>;
  enum class State { Accepted, Holding, Resolving, Connecting, Retrying, Streaming, Closing };
  enum class Reset { None, Client, Upstream };

  // Takes the accepted socket over and starts reading it; nullptr (socket closed) on failure.
  static BasicProxySession* accept(uv_loop_t* loop, Clock clock, Route* route, std::shared_ptr<BufferPool> pool,
                                   int fd);

  void hold(core::Millis timeout);  // wait for release() (the component is up) or the deadline
  void release();             // Holding -> connect()
  void connect();             // resolve, connect, then stream
  void close(Reset reset = Reset::None);
  void drain();  // close now if idle, else as soon as it is (see above)

  State state() const { return state_; }
  // Waiting for its upstream after a failed connect (pausing or connecting again), the client held.
  bool retrying() const { return retries_ > 0 && before_streaming(); }
  double accepted_at() const { return accepted_at_; }  // mono_seconds()

  // The route's hold list (FIFO), kept by the route.
  typename std::list<BasicProxySession*>::iterator held_at;
  bool held = false;

  // PipeOwner
  void on_pipe_error(Pipe& pipe, int status, Side side) override;
  void on_pipe_done(Pipe& pipe) override;
  void on_pipe_flushed(Pipe& pipe) override;
  // ResolveWaiter
  void on_resolved(int status, const core::Addresses& addresses) override;

 private:
  friend class lg::core::HandleGroup;
  friend class SessionTimer<BasicProxySession, Clock>;
  BasicProxySession(uv_loop_t* loop, Clock clock, std::shared_ptr<BufferPool> pool);
  ~BasicProxySession() = default;

  void start_attempts(const core::Addresses& addresses);
  // Connector::Client
  void on_address_tried() override;
  void on_connected() override;
  void on_connect_failed(int status) override;
  void fail_connect(int status, bool dns);
  bool may_retry() const;
  void retry_later(int status, bool dns);
  bool before_streaming() const;
  void read_first_chunk(ssize_t nread, const uv_buf_t* buf);
  void on_deadline();
  void watch_paused();
  bool paused_source_failed();  // true: a paused pipe's source has a pending error; closed
  void arm_deadline(uint64_t ms);
  void rearm_before_streaming();
  bool first_chunk_tick();
  void close_if_idle();

  static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void on_client_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void on_upstream_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);

  uv_loop_t* loop_;
  Clock clock_;
  Route* route_ = nullptr;
  std::shared_ptr<BufferPool> pool_;
  core::HandleGroup group_{this};
  core::Handle<uv_tcp_t> client_{group_};
  core::Handle<uv_tcp_t> upstream_{group_};
  SessionTimer<BasicProxySession, Clock> timer_{group_};
  core::Connector connector_;  // the upstream_
  Pipe up_;    // client -> upstream
  Pipe down_;  // upstream -> client
  HttpExchanges exchanges_;  // what the bytes say about HTTP: for the drain
  State state_ = State::Accepted;
  bool draining_ = false;  // close as soon as idle

  Block* first_chunk_ = nullptr;  // client bytes read before the upstream was connected
  size_t first_chunk_len_ = 0;
  bool client_ended_ = false;  // EOF from the client before the upstream was connected
  uint64_t deadline_ = 0;      // clock_ ms: the hold or connect deadline, before streaming
  uint64_t hold_until_ = 0;    // clock_ ms: accept + --forward-hold; no connect retry after it
  unsigned retries_ = 0;       // connect retries so far (the back-off's step)
  bool waited_ = false;        // held or retried before connecting: held_served counts it
  bool answered_ = false;      // a byte came from the upstream (a reset before it is a signal)

  double accepted_at_ = 0;
  uint64_t connect_started_ns_ = 0;
};

using ProxySession = BasicProxySession<core::LoopClock>;

}  // namespace lg::proxy
