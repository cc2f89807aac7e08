#include "proxy/proxy_session.hpp"

#include <unistd.h>

#include <algorithm>
#include <random>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "proxy/connect_backoff.hpp"
#include "core/manual_clock.hpp"
#include "proxy/route.hpp"

namespace lg::proxy {

namespace {
constexpr unsigned kKeepAliveDelayS = 60;  // notice vanished peers of long SSE streams
// How often a socket that is not read (a source a pipe paused for backpressure, or a client
// whose first chunk is kept while its upstream is not there yet) is checked for a reset.
constexpr uint64_t kPausedCheckMs = 250;

// A number in [0, 1) for the retry back-off's jitter (one loop thread: one generator).
double jitter_unit() {
  static std::minstd_rand rng(static_cast<unsigned>(uv_hrtime()));
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}
}  // namespace

template <class Clock>
BasicProxySession<Clock>::BasicProxySession(uv_loop_t* loop, Clock clock, std::shared_ptr<BufferPool> pool)
    : loop_(loop),
      clock_(clock),
      pool_(std::move(pool)),
      connector_(loop, group_, upstream_, this, *this),
      up_(*this, *pool_),
      down_(*this, *pool_) {}

template <class Clock>
BasicProxySession<Clock>* BasicProxySession<Clock>::accept(uv_loop_t* loop, Clock clock, Route* route,
                                                           std::shared_ptr<BufferPool> pool, int fd) {
  auto* s = new BasicProxySession(loop, clock, std::move(pool));
  s->accepted_at_ = core::mono_seconds();
  s->client_.init(s, uv_tcp_init, loop);  // no socket yet: cannot fail
  s->timer_.init(s, clock);
  if (uv_tcp_open(s->client_.get(), fd) != 0) {
    ::close(fd);  // not the handle's yet
    s->close();
    return nullptr;
  }
  s->route_ = route;
  s->hold_until_ = clock.now_ms() + static_cast<uint64_t>(route->settings().hold_timeout.count());
  uv_tcp_nodelay(s->client_.get(), 1);
  uv_tcp_keepalive(s->client_.get(), 1, kKeepAliveDelayS);
  if (uv_read_start(s->client_.stream(), on_alloc, on_client_read) != 0) {
    s->route_ = nullptr;
    s->close();
    return nullptr;
  }
  return s;
}

template <class Clock>
void BasicProxySession<Clock>::hold(core::Millis timeout) {
  if (state_ == State::Closing) return;
  state_ = State::Holding;
  waited_ = true;
  arm_deadline(static_cast<uint64_t>(timeout.count()));
}

template <class Clock>
void BasicProxySession<Clock>::release() {
  if (state_ == State::Holding) connect();
}

template <class Clock>
void BasicProxySession<Clock>::connect() {
  if (state_ == State::Closing || !route_) return;
  state_ = State::Resolving;
  connect_started_ns_ = uv_hrtime();
  arm_deadline(static_cast<uint64_t>(route_->settings().connect_timeout.count()));
  if (core::Addresses cached = route_->resolver().lookup(this)) start_attempts(cached);
}

template <class Clock>
void BasicProxySession<Clock>::on_resolved(int status, const core::Addresses& addresses) {
  if (state_ != State::Resolving) return;
  if (status != 0) {
    fail_connect(status, true);
    return;
  }
  start_attempts(addresses);
}

template <class Clock>
void BasicProxySession<Clock>::start_attempts(const core::Addresses& addresses) {
  state_ = State::Connecting;
  connector_.start(addresses, core::Millis{0});  // the deadline per address is ours: on_address_tried()
}

template <class Clock>
void BasicProxySession<Clock>::on_address_tried() {
  arm_deadline(static_cast<uint64_t>(route_->settings().connect_timeout.count()));
}

template <class Clock>
void BasicProxySession<Clock>::on_connect_failed(int status) { fail_connect(status, false); }

template <class Clock>
void BasicProxySession<Clock>::on_connected() {
  timer_.stop();
  auto& m = route_->metrics();
  m.connect_seconds->observe(static_cast<double>(uv_hrtime() - connect_started_ns_) / 1e9);
  route_->on_connect_ok();
  if (waited_) m.held_served->inc();
  state_ = State::Streaming;
  uv_tcp_nodelay(upstream_.get(), 1);
  uv_tcp_keepalive(upstream_.get(), 1, kKeepAliveDelayS);
  auto* client = client_.stream();
  auto* upstream = upstream_.stream();
  uv_read_stop(client);  // the early read; the pipe reads from here on
  up_.attach(client, upstream, on_alloc, on_client_read, clock_.now_ms());
  down_.attach(upstream, client, on_alloc, on_upstream_read, clock_.now_ms());
  up_.set_counter(m.bytes_upstream);
  down_.set_counter(m.bytes_downstream);
  if (first_chunk_) {
    Block* b = first_chunk_;
    first_chunk_ = nullptr;
    exchanges_.requests(b->data, first_chunk_len_);
    m.bytes_upstream->inc(static_cast<double>(first_chunk_len_));
    up_.inject(b, first_chunk_len_);
  }
  if (state_ == State::Closing) return;
  if (client_ended_) up_.start_ended();
  else up_.start();
  if (state_ == State::Closing) return;
  down_.start();
  if (state_ == State::Closing) return;
  const auto idle = route_->settings().idle_timeout;
  if (idle.count() > 0) timer_.start(static_cast<uint64_t>(idle.count()));
  if (draining_) close_if_idle();
}

template <class Clock>
void BasicProxySession<Clock>::fail_connect(int status, bool dns) {
  if (route_ && may_retry()) {
    retry_later(status, dns);
    return;
  }
  if (route_) route_->on_connect_failed(status, dns, connector_.addresses(), false);
  close();
}

// Nothing was sent upstream yet (the client's bytes are kept), so another connect is honest.
template <class Clock>
bool BasicProxySession<Clock>::may_retry() const {
  return route_->settings().health_mode != config::ForwardHealthMode::Reject && clock_.now_ms() < hold_until_;
}

// The pause is cut at the hold's end: the last try is made then, and its failure closes.
template <class Clock>
void BasicProxySession<Clock>::retry_later(int status, bool dns) {
  route_->on_connect_failed(status, dns, connector_.addresses(), true);
  const uint64_t left = hold_until_ - clock_.now_ms();
  waited_ = true;
  state_ = State::Retrying;
  arm_deadline(std::min(connect_backoff_ms(retries_++, jitter_unit()), left));
}

template <class Clock>
bool BasicProxySession<Clock>::before_streaming() const {
  return state_ == State::Holding || state_ == State::Resolving || state_ == State::Connecting ||
         state_ == State::Retrying;
}

template <class Clock>
void BasicProxySession<Clock>::on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* self = static_cast<BasicProxySession*>(handle->data);
  Block* b = self->pool_->scratch();
  *buf = uv_buf_init(b->data, static_cast<unsigned int>(Block::kSize));
}

template <class Clock>
void BasicProxySession<Clock>::on_client_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<BasicProxySession*>(stream->data);
  if (self->state_ == State::Streaming) {
    if (nread > 0) self->exchanges_.requests(buf->base, static_cast<size_t>(nread));
    self->up_.on_read(nread, buf, self->clock_.now_ms());
    if (self->up_.paused()) self->watch_paused();
    if (self->draining_) self->close_if_idle();
  } else if (self->state_ != State::Closing) {
    self->read_first_chunk(nread, buf);
  }
}

template <class Clock>
void BasicProxySession<Clock>::on_upstream_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<BasicProxySession*>(stream->data);
  if (self->state_ != State::Streaming) return;
  if (nread > 0) {
    self->answered_ = true;
    self->exchanges_.responses(buf->base, static_cast<size_t>(nread));
  }
  self->down_.on_read(nread, buf, self->clock_.now_ms());
  if (self->down_.paused()) self->watch_paused();
  if (self->draining_) self->close_if_idle();
}

// A pipe paused for backpressure no longer reads its source, so libuv no longer polls that
// socket: a reset from its peer (a client gone while its upload waits on a slow Letta) would
// go unnoticed until the other side drains, keeping both connections open. While a pipe is
// paused, the session's timer looks at the source's pending socket error every kPausedCheckMs.
template <class Clock>
void BasicProxySession<Clock>::watch_paused() {
  if (state_ != State::Streaming) return;
  if (timer_.active() && timer_.due_in() <= kPausedCheckMs) return;
  timer_.start(kPausedCheckMs);
}

template <class Clock>
bool BasicProxySession<Clock>::paused_source_failed() {
  for (Pipe* pipe : {&up_, &down_}) {
    if (!pipe->paused()) continue;
    const int err = pending_socket_error(pipe == &up_ ? client_.handle() : upstream_.handle());
    if (err == 0) continue;
    on_pipe_error(*pipe, err, Side::Source);  // closes the session, resetting the other side
    return true;
  }
  return false;
}

// Before streaming, the one timer serves the state's deadline (hold, connect). Once the
// client's first chunk is kept its socket is no longer read, so no longer polled: a reset
// from it would wait for that deadline. Until then the timer also wakes every kPausedCheckMs
// to look at the client's pending error.
template <class Clock>
void BasicProxySession<Clock>::arm_deadline(uint64_t ms) {
  deadline_ = clock_.now_ms() + ms;
  rearm_before_streaming();
}

template <class Clock>
void BasicProxySession<Clock>::rearm_before_streaming() {
  const uint64_t now = clock_.now_ms();
  uint64_t next = deadline_ > now ? deadline_ - now : 0;
  if (first_chunk_) next = std::min(next, kPausedCheckMs);
  timer_.start(next);
}

// A tick before the state's deadline: true when it was only a look at the held client (which
// may have closed the session: it reset).
template <class Clock>
bool BasicProxySession<Clock>::first_chunk_tick() {
  if (first_chunk_ && pending_socket_error(client_.handle()) != 0) {
    if (route_) route_->log().debug("{}: a client reset while waiting for the upstream", route_->name());
    close();
    return true;
  }
  if (clock_.now_ms() >= deadline_) return false;
  rearm_before_streaming();
  return true;
}

// Before the upstream is connected: keep the first chunk (and stop reading: bounded), note an
// EOF (a half-closed client still gets its answer), close on an error (the client is gone).
template <class Clock>
void BasicProxySession<Clock>::read_first_chunk(ssize_t nread, const uv_buf_t*) {
  if (nread > 0) {
    first_chunk_ = pool_->take_scratch();
    first_chunk_len_ = static_cast<size_t>(nread);
    uv_read_stop(client_.stream());
    if (before_streaming()) rearm_before_streaming();
  } else if (nread == UV_EOF && pending_socket_error(client_.handle()) == 0) {
    client_ended_ = true;  // libuv stopped reading (an EOF with a pending reset is a reset: pipe.hpp)
  } else if (nread < 0) {
    close();
  }
}

template <class Clock>
void BasicProxySession<Clock>::on_deadline() {
  if (before_streaming() && first_chunk_tick()) return;
  switch (state_) {
    case State::Holding:
      if (route_) route_->on_hold_timeout(this);
      close();
      break;
    case State::Resolving:
      // Still no answer from the resolver after connect_timeout: a DNS failure.
      if (route_) route_->resolver().cancel(this);
      fail_connect(UV_ETIMEDOUT, true);
      break;
    case State::Connecting:
      connector_.give_up_on_current(UV_ETIMEDOUT);  // nothing while the next address is not tried yet
      break;
    case State::Retrying:
      connect();
      break;
    case State::Streaming: {
      if (paused_source_failed()) break;
      const uint64_t idle = static_cast<uint64_t>(route_ ? route_->settings().idle_timeout.count() : 0);
      const uint64_t last = std::max(up_.last_activity(), down_.last_activity());
      const uint64_t now = clock_.now_ms();
      uint64_t next = 0;
      if (idle > 0) {
        if (now - last >= idle) {
          route_->log().debug("{}: closing a connection idle for {} ms", route_->name(), now - last);
          close();
          break;
        }
        next = idle - (now - last);
      }
      if (up_.paused() || down_.paused()) next = next == 0 ? kPausedCheckMs : std::min(next, kPausedCheckMs);
      if (next > 0) timer_.start(next);
      break;
    }
    case State::Accepted:
    case State::Closing:
      break;
  }
}

template <class Clock>
void BasicProxySession<Clock>::on_pipe_error(Pipe& pipe, int status, Side side) {
  // The socket that failed is closed; the other one is reset, so a reset travels through.
  const bool client_failed = (&pipe == &up_) == (side == Side::Source);
  if (route_) {
    route_->log().debug("{}: {} error: {}", route_->name(), client_failed ? "client" : "upstream",
                        uv_strerror(status));
    if (!client_failed && !answered_ && status == UV_ECONNRESET) route_->signal_failure("reset");
  }
  close(client_failed ? Reset::Upstream : Reset::Client);
}

template <class Clock>
void BasicProxySession<Clock>::on_pipe_done(Pipe&) {
  if (up_.done() && down_.done()) close();
}

template <class Clock>
void BasicProxySession<Clock>::on_pipe_flushed(Pipe&) {
  if (draining_) close_if_idle();
}

template <class Clock>
void BasicProxySession<Clock>::drain() {
  if (state_ == State::Closing) return;
  draining_ = true;
  close_if_idle();
}

// Idle by HTTP's rules and nothing of ours still on its way: an ordinary close (FIN both ways),
// as a server closes an idle keep-alive connection. A request the client sends at that very
// moment meets the close, as with any keep-alive timeout; clients retry such requests.
template <class Clock>
void BasicProxySession<Clock>::close_if_idle() {
  if (state_ != State::Streaming || !exchanges_.idle()) return;
  if (up_.queued_blocks() != 0 || down_.queued_blocks() != 0) return;
  if (route_) {
    route_->log().debug("{}: drain: closing an idle connection ({} request(s) answered)", route_->name(),
                        exchanges_.responses_done());
  }
  close();
}

template <class Clock>
void BasicProxySession<Clock>::close(Reset reset) {
  if (state_ == State::Closing) return;
  const State was = state_;
  state_ = State::Closing;
  up_.stop();
  down_.stop();
  if (route_) {
    if (was == State::Resolving) route_->resolver().cancel(this);
    route_->on_session_closed(this);
    route_ = nullptr;
  }
  if (first_chunk_) {
    pool_->give(first_chunk_);
    first_chunk_ = nullptr;
  }
  connector_.cancel();  // a socket still connecting is closed
  timer_.close();
  if (reset == Reset::Client) client_.close_reset();
  else client_.close();
  if (reset == Reset::Upstream) upstream_.close_reset();
  else upstream_.close();
  group_.close();  // freed once the handles are closed
}

template class BasicProxySession<core::LoopClock>;
template class BasicProxySession<core::ManualClock>;

}  // namespace lg::proxy
