#include "proxy/tcp_forwarder.hpp"

#include <unistd.h>

#include <algorithm>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "proxy/route.hpp"

namespace lg::proxy {

namespace {
constexpr unsigned kKeepAliveDelayS = 60;  // notice vanished peers of long SSE streams
// How often a socket that is not read (a source a pipe paused for backpressure, or a client
// whose first chunk is kept while its upstream is not there yet) is checked for a reset.
constexpr uint64_t kPausedCheckMs = 250;
}

TcpForwarder::TcpForwarder(uv_loop_t* loop, std::shared_ptr<BufferPool> pool)
    : loop_(loop), pool_(std::move(pool)), up_(*this, *pool_), down_(*this, *pool_) {}

TcpForwarder* TcpForwarder::accept(uv_loop_t* loop, Route* route, std::shared_ptr<BufferPool> pool, int fd) {
  auto* s = new TcpForwarder(loop, std::move(pool));
  s->accepted_at_ = mono_seconds();
  uv_tcp_init(loop, &s->client_);
  s->client_.data = s;
  uv_timer_init(loop, &s->timer_);
  s->timer_.data = s;
  s->open_handles_ = 2;
  if (uv_tcp_open(&s->client_, fd) != 0) {
    ::close(fd);  // not the handle's yet
    s->close();
    return nullptr;
  }
  s->route_ = route;
  uv_tcp_nodelay(&s->client_, 1);
  uv_tcp_keepalive(&s->client_, 1, kKeepAliveDelayS);
  if (uv_read_start(reinterpret_cast<uv_stream_t*>(&s->client_), on_alloc, on_client_read) != 0) {
    s->route_ = nullptr;
    s->close();
    return nullptr;
  }
  return s;
}

void TcpForwarder::hold(Millis timeout) {
  if (state_ == State::Closing) return;
  state_ = State::Holding;
  arm_deadline(static_cast<uint64_t>(timeout.count()));
}

void TcpForwarder::release() {
  if (state_ == State::Holding) connect();
}

void TcpForwarder::connect() {
  if (state_ == State::Closing || !route_) return;
  state_ = State::Resolving;
  connect_started_ns_ = uv_hrtime();
  arm_deadline(static_cast<uint64_t>(route_->settings().connect_timeout.count()));
  if (Addresses cached = route_->resolver().lookup(this)) start_attempts(cached);
}

void TcpForwarder::on_resolved(int status, const Addresses& addresses) {
  if (state_ != State::Resolving) return;
  if (status != 0) {
    fail_connect(status, true);
    return;
  }
  start_attempts(addresses);
}

void TcpForwarder::start_attempts(const Addresses& addresses) {
  addresses_ = addresses;
  next_address_ = 0;
  state_ = State::Connecting;
  try_next_address();
}

void TcpForwarder::try_next_address() {
  if (state_ != State::Connecting) return;
  if (next_address_ >= addresses_->size()) {
    fail_connect(last_error_, false);
    return;
  }
  const sockaddr_storage& addr = (*addresses_)[next_address_++];
  arm_deadline(static_cast<uint64_t>(route_->settings().connect_timeout.count()));
  uv_tcp_init(loop_, &upstream_);
  upstream_.data = this;
  ++open_handles_;
  upstream_open_ = true;
  connect_req_.data = this;
  int rc = uv_tcp_connect(&connect_req_, &upstream_, reinterpret_cast<const sockaddr*>(&addr), on_connect);
  if (rc != 0) {  // failed at once (no callback): e.g. EMFILE, or no route for that family
    last_error_ = rc;
    retry_after_close();
  }
}

void TcpForwarder::on_connect(uv_connect_t* req, int status) {
  auto* self = static_cast<TcpForwarder*>(req->data);
  if (status == UV_ECANCELED || self->state_ != State::Connecting || self->retrying_) return;
  if (status != 0) {
    self->last_error_ = status;
    self->retry_after_close();
    return;
  }
  self->on_connected();
}

// A failed socket cannot be connected again: close it, and try the next address once closed.
void TcpForwarder::retry_after_close() {
  retrying_ = true;
  upstream_open_ = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&upstream_), on_upstream_closed);
}

void TcpForwarder::on_upstream_closed(uv_handle_t* handle) {
  auto* self = static_cast<TcpForwarder*>(handle->data);
  const bool retry = self->retrying_ && self->state_ == State::Connecting;
  self->retrying_ = false;
  if (!retry) {
    self->handle_closed();  // may delete self
    return;
  }
  --self->open_handles_;  // client and timer are still open: never the last one here
  self->try_next_address();
}

void TcpForwarder::on_connected() {
  uv_timer_stop(&timer_);
  auto& m = route_->metrics();
  m.connect_seconds->observe(static_cast<double>(uv_hrtime() - connect_started_ns_) / 1e9);
  route_->on_connect_ok();
  state_ = State::Streaming;
  uv_tcp_nodelay(&upstream_, 1);
  uv_tcp_keepalive(&upstream_, 1, kKeepAliveDelayS);
  auto* client = reinterpret_cast<uv_stream_t*>(&client_);
  auto* upstream = reinterpret_cast<uv_stream_t*>(&upstream_);
  uv_read_stop(client);  // the early read; the pipe reads from here on
  up_.attach(client, upstream, on_alloc, on_client_read);
  down_.attach(upstream, client, on_alloc, on_upstream_read);
  up_.set_counter(m.bytes_upstream);
  down_.set_counter(m.bytes_downstream);
  if (early_) {
    Block* b = early_;
    early_ = nullptr;
    exchanges_.requests(b->data, early_len_);
    m.bytes_upstream->inc(static_cast<double>(early_len_));
    up_.inject(b, early_len_);
  }
  if (state_ == State::Closing) return;
  if (client_ended_) up_.start_ended();
  else up_.start();
  if (state_ == State::Closing) return;
  down_.start();
  if (state_ == State::Closing) return;
  const auto idle = route_->settings().idle_timeout;
  if (idle.count() > 0) uv_timer_start(&timer_, on_timer, static_cast<uint64_t>(idle.count()), 0);
  if (draining_) close_if_idle();
}

void TcpForwarder::fail_connect(int status, bool dns) {
  if (route_) route_->on_connect_failed(status, dns, addresses_);
  close();
}

void TcpForwarder::on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* self = static_cast<TcpForwarder*>(handle->data);
  Block* b = self->pool_->scratch();
  *buf = uv_buf_init(b->data, static_cast<unsigned int>(Block::kSize));
}

void TcpForwarder::on_client_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<TcpForwarder*>(stream->data);
  if (self->state_ == State::Streaming) {
    if (nread > 0) self->exchanges_.requests(buf->base, static_cast<size_t>(nread));
    self->up_.on_read(nread, buf);
    if (self->up_.paused()) self->watch_paused();
    if (self->draining_) self->close_if_idle();
  } else if (self->state_ != State::Closing) {
    self->early_read(nread, buf);
  }
}

void TcpForwarder::on_upstream_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<TcpForwarder*>(stream->data);
  if (self->state_ != State::Streaming) return;
  if (nread > 0) self->exchanges_.responses(buf->base, static_cast<size_t>(nread));
  self->down_.on_read(nread, buf);
  if (self->down_.paused()) self->watch_paused();
  if (self->draining_) self->close_if_idle();
}

// A pipe paused for backpressure no longer reads its source, so libuv no longer polls that
// socket: a reset from its peer (a client gone while its upload waits on a slow Letta) would
// go unnoticed until the other side drains, keeping both connections open. While a pipe is
// paused, the session's timer looks at the source's pending socket error every kPausedCheckMs.
void TcpForwarder::watch_paused() {
  if (state_ != State::Streaming) return;
  if (uv_is_active(reinterpret_cast<uv_handle_t*>(&timer_)) && uv_timer_get_due_in(&timer_) <= kPausedCheckMs) return;
  uv_timer_start(&timer_, on_timer, kPausedCheckMs, 0);
}

bool TcpForwarder::paused_source_failed() {
  for (Pipe* pipe : {&up_, &down_}) {
    if (!pipe->paused()) continue;
    const int err = pending_socket_error(reinterpret_cast<uv_handle_t*>(pipe == &up_ ? &client_ : &upstream_));
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
void TcpForwarder::arm_deadline(uint64_t ms) {
  deadline_ = uv_now(loop_) + ms;
  rearm_before_streaming();
}

void TcpForwarder::rearm_before_streaming() {
  const uint64_t now = uv_now(loop_);
  uint64_t next = deadline_ > now ? deadline_ - now : 0;
  if (early_) next = std::min(next, kPausedCheckMs);
  uv_timer_start(&timer_, on_timer, next, 0);
}

// A tick before the state's deadline: true when it was only a look at the held client (which
// may have closed the session: it reset).
bool TcpForwarder::early_tick() {
  if (early_ && pending_socket_error(reinterpret_cast<uv_handle_t*>(&client_)) != 0) {
    if (route_) route_->log().debug("{}: a client reset while waiting for the upstream", route_->name());
    close();
    return true;
  }
  if (uv_now(loop_) >= deadline_) return false;
  rearm_before_streaming();
  return true;
}

// Before the upstream is connected: keep the first chunk (and stop reading: bounded), note an
// EOF (a half-closed client still gets its answer), close on an error (the client is gone).
void TcpForwarder::early_read(ssize_t nread, const uv_buf_t*) {
  if (nread > 0) {
    early_ = pool_->take_scratch();
    early_len_ = static_cast<size_t>(nread);
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&client_));
    if (state_ == State::Holding || state_ == State::Resolving || state_ == State::Connecting) rearm_before_streaming();
  } else if (nread == UV_EOF && pending_socket_error(reinterpret_cast<uv_handle_t*>(&client_)) == 0) {
    client_ended_ = true;  // libuv stopped reading (an EOF with a pending reset is a reset: pipe.hpp)
  } else if (nread < 0) {
    close();
  }
}

void TcpForwarder::on_timer(uv_timer_t* handle) {
  static_cast<TcpForwarder*>(handle->data)->on_deadline();
}

void TcpForwarder::on_deadline() {
  const bool before_streaming = state_ == State::Holding || state_ == State::Resolving || state_ == State::Connecting;
  if (before_streaming && early_tick()) return;
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
      if (retrying_) break;
      last_error_ = UV_ETIMEDOUT;
      retry_after_close();
      break;
    case State::Streaming: {
      if (paused_source_failed()) break;
      const uint64_t idle = static_cast<uint64_t>(route_ ? route_->settings().idle_timeout.count() : 0);
      const uint64_t last = std::max(up_.last_activity(), down_.last_activity());
      const uint64_t now = uv_now(loop_);
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
      if (next > 0) uv_timer_start(&timer_, on_timer, next, 0);
      break;
    }
    case State::Accepted:
    case State::Closing:
      break;
  }
}

void TcpForwarder::on_pipe_error(Pipe& pipe, int status, Side side) {
  // The socket that failed is closed; the other one is reset, so a reset travels through.
  const bool client_failed = (&pipe == &up_) == (side == Side::Source);
  if (route_) {
    route_->log().debug("{}: {} error: {}", route_->name(), client_failed ? "client" : "upstream",
                        uv_strerror(status));
  }
  close(client_failed ? Reset::Upstream : Reset::Client);
}

void TcpForwarder::on_pipe_done(Pipe&) {
  if (up_.done() && down_.done()) close();
}

void TcpForwarder::on_pipe_flushed(Pipe&) {
  if (draining_) close_if_idle();
}

void TcpForwarder::drain() {
  if (state_ == State::Closing) return;
  draining_ = true;
  close_if_idle();
}

// Idle by HTTP's rules and nothing of ours still on its way: an ordinary close (FIN both ways),
// as a server closes an idle keep-alive connection. A request the client sends at that very
// moment meets the close, as with any keep-alive timeout; clients retry such requests.
void TcpForwarder::close_if_idle() {
  if (state_ != State::Streaming || !exchanges_.idle()) return;
  if (up_.queued_blocks() != 0 || down_.queued_blocks() != 0) return;
  if (route_) {
    route_->log().debug("{}: drain: closing an idle connection ({} request(s) answered)", route_->name(),
                        exchanges_.responses_done());
  }
  close();
}

void TcpForwarder::close(Reset reset) {
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
  if (early_) {
    pool_->give(early_);
    early_ = nullptr;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), on_handle_closed);
  close_handle(&client_, reset == Reset::Client, on_handle_closed);
  if (upstream_open_) {
    upstream_open_ = false;
    close_handle(&upstream_, reset == Reset::Upstream, on_upstream_closed);
  }
}

void TcpForwarder::close_handle(uv_tcp_t* tcp, bool reset, uv_close_cb cb) {
  // uv_tcp_close_reset refuses while a shutdown is pending: then an ordinary close.
  if (reset && uv_tcp_close_reset(tcp, cb) == 0) return;
  uv_close(reinterpret_cast<uv_handle_t*>(tcp), cb);
}

void TcpForwarder::on_handle_closed(uv_handle_t* handle) {
  static_cast<TcpForwarder*>(handle->data)->handle_closed();
}

void TcpForwarder::handle_closed() {
  if (--open_handles_ == 0) delete this;
}

}  // namespace lg::proxy
