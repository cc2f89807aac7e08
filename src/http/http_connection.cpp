#include "http/http_connection.hpp"

#include <algorithm>

#include "core/decimal.hpp"
#include "core/log.hpp"
#include "core/manual_clock.hpp"
#include "http/http_server.hpp"

namespace lg::http {
namespace {

// Unsent output (built, or queued in libuv) above which a connection stops parsing and reading,
// and below which it starts again. A /metrics answer is 10-20 KiB: a few per loop turn.
constexpr size_t kOutputHighWater = 64 * 1024;
constexpr size_t kOutputLowWater = 16 * 1024;
// After a final response the connection discards unread input until the client has been quiet
// for kLinger, and for kLingerMax at most, however long it keeps sending (nginx: lingering_timeout
// 5 s, lingering_time 30 s). Closing with input unread sends a reset, and a reset can destroy
// the response before the client reads it: a client still uploading a refused 100 MB body on a
// busy machine (hostile_clients) lost its 413 to the fixed 2 s this used to be.
constexpr core::Millis kLinger{2000};
constexpr core::Millis kLingerMax{10000};
constexpr size_t kKeptOutputBytes = 64 * 1024;  // output capacity a connection keeps between requests

struct WriteReq {
  uv_write_t req;
  std::string data;
};

}  // namespace

template <class Clock>
BasicHttpConnection<Clock>::BasicHttpConnection(Server* server, uv_loop_t* loop)
    : server_(server),
      deadline_(server->clock_, [this] { on_deadline(); }),
      parser_({server->options_.max_header_bytes, server->options_.max_body_bytes}, [this] { on_request_begin(); },
              [this](const Request& r) { return on_request(r); }) {
  tcp_.init(this, uv_tcp_init, loop);  // no socket yet: cannot fail
}

template <class Clock>
void BasicHttpConnection<Clock>::start() {
  uv_tcp_nodelay(tcp_.get(), 1);
  // The first request's deadline runs from accept: a client that sends nothing is cut too.
  deadline_.set(server_->options_.header_timeout);
  uv_read_start(tcp_.stream(), on_alloc, on_read);
}

template <class Clock>
void BasicHttpConnection<Clock>::reject_busy() {
  Response r = Response::text(503, "too many connections\n");
  Request req;
  req.method = "GET";
  respond(req, r, false);
  flush();
}

template <class Clock>
void BasicHttpConnection<Clock>::drain() {
  draining_ = true;
  // A paused connection answers its next request (with Connection: close) when it resumes.
  if (state_ == State::Idle && writes_pending_ == 0 && !input_paused_) close();
}

template <class Clock>
void BasicHttpConnection<Clock>::close() {
  if (state_ == State::Closing) return;
  state_ = State::Closing;
  deadline_.close();
  if (server_) {
    server_->cancel_resume(this);
    server_->forget(this);
    if (server_->active_) server_->active_->dec();
  }
  tcp_.close();
  group_.close();  // freed once the socket is closed
}

template <class Clock>
void BasicHttpConnection<Clock>::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* c = static_cast<BasicHttpConnection*>(h->data);
  if (!c->server_) {
    buf->base = nullptr;
    buf->len = 0;
    return;
  }
  buf->base = c->server_->read_buffer_;
  buf->len = sizeof(c->server_->read_buffer_);
}

template <class Clock>
void BasicHttpConnection<Clock>::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* c = static_cast<BasicHttpConnection*>(s->data);
  if (nread == 0) return;
  if (nread < 0) {  // EOF, reset, or ENOBUFS after detach
    c->close();
    return;
  }
  if (c->server_) c->server_->touch(c);
  if (c->state_ == State::Lingering) {  // discard, and wait for the client to go quiet
    c->extend_linger();
    return;
  }
  if (c->state_ == State::Closing) return;
  c->feed(buf->base, static_cast<size_t>(nread));
}

template <class Clock>
void BasicHttpConnection<Clock>::feed(const char* data, size_t len) {
  size_t parsed = len;
  switch (parser_.feed(data, len, &parsed)) {
    case RequestParser::Result::Ok:
    case RequestParser::Result::Stopped:  // the last request we answer on this connection
      break;
    case RequestParser::Result::Paused:
      // Paused for the turn's share of answers with nothing left unparsed: nothing to defer,
      // so reading goes on (many clients with one request each never stop and start reading).
      if (parsed == len && unsent() <= kOutputHighWater) break;
      pause_input(data + parsed, len - parsed);
      break;
    case RequestParser::Result::HeaderTooLarge: fail(431, "header fields too large"); break;
    case RequestParser::Result::BodyTooLarge: fail(413, "body too large"); break;
    case RequestParser::Result::Malformed: fail(400, parser_.error_reason().c_str()); break;
  }
  flush();
}

// `rest` may be in the read buffer all connections share: it is copied. No more is read until
// it has been parsed, so what is kept is at most one read.
template <class Clock>
void BasicHttpConnection<Clock>::pause_input(const char* rest, size_t len) {
  input_paused_ = true;
  pending_input_.assign(rest, len);
  uv_read_stop(tcp_.stream());
}

// Output drained below the low-water mark (the server calls this on the next loop turn): parse
// what was kept (which may pause again), then read again.
template <class Clock>
void BasicHttpConnection<Clock>::resume_input() {
  input_paused_ = false;
  std::string input;
  input.swap(pending_input_);  // feed() may keep a new rest in pending_input_
  if (!input.empty()) feed(input.data(), input.size());
  // A final answer is on its way (linger() reads again, to discard) or the parser paused again.
  if (input_paused_ || close_after_flush_ || state_ == State::Closing || state_ == State::Lingering) return;
  if (draining_ && state_ == State::Idle && writes_pending_ == 0) {
    close();
    return;
  }
  uv_read_start(tcp_.stream(), on_alloc, on_read);
}

template <class Clock>
size_t BasicHttpConnection<Clock>::unsent() const { return out_.size() + tail_.size() + tcp_.get()->write_queue_size; }

template <class Clock>
void BasicHttpConnection<Clock>::on_request_begin() {
  // The first request's deadline runs from accept; later ones from their first byte.
  if (!first_request_ && server_) deadline_.set(server_->options_.header_timeout);
  first_request_ = false;
  state_ = State::Reading;
}

template <class Clock>
bool BasicHttpConnection<Clock>::on_request(const Request& req) {
  if (!server_) return false;
  deadline_.clear();
  take_tail();  // the handler may rewrite what the previous response's shared body shows
  const bool keep_alive = req.keep_alive && !draining_ && !server_->stopping_;
  respond(req, server_->handler_(req), keep_alive);
  if (!keep_alive) return false;  // answer nothing after a final response
  state_ = State::Idle;
  deadline_.set(server_->options_.keepalive_timeout);
  // The rest waits while the output is full, or for a later loop turn once this one has
  // answered its share (spend_answer() counts this answer either way).
  if (server_->spend_answer() || unsent() > kOutputHighWater) parser_.pause();
  return true;
}

template <class Clock>
void BasicHttpConnection<Clock>::respond(const Request& req, const Response& res, bool keep_alive) {
  take_tail();
  if (server_) server_->count_request(req.path, res.status);
  const std::string_view body = res.payload();
  const bool head_only = req.method == "HEAD";
  out_.reserve(out_.size() + 160 + res.extra_headers.size() + (head_only || res.shared ? 0 : body.size()));
  out_ += "HTTP/1.1 ";
  core::append_uint(out_, static_cast<uint64_t>(res.status));
  out_ += ' ';
  out_ += reason_phrase(res.status);
  out_ += "\r\nContent-Type: ";
  out_ += res.content_type;
  out_ += "\r\nContent-Length: ";
  core::append_uint(out_, body.size());
  out_ += "\r\n";
  out_ += res.extra_headers;
  out_ += keep_alive ? "\r\n" : "Connection: close\r\n\r\n";
  if (!head_only) {
    if (res.shared) tail_ = body;  // written from where it is (no copy) unless it must be queued
    else out_ += body;
  }
  if (!keep_alive) close_after_flush_ = true;
}

template <class Clock>
void BasicHttpConnection<Clock>::take_tail() {
  out_ += tail_;
  tail_ = {};
}

template <class Clock>
void BasicHttpConnection<Clock>::fail(int status, const char* why) {
  if (state_ == State::Lingering || state_ == State::Closing) return;
  Request req;
  req.method = "GET";
  respond(req, Response::text(status, std::string(why) + "\n"), false);
  state_ = State::Lingering;
}

template <class Clock>
void BasicHttpConnection<Clock>::flush() {
  if (state_ == State::Closing) {
    tail_ = {};
    return;
  }
  const size_t total = out_.size() + tail_.size();
  if (total > 0) {
    auto* stream = tcp_.stream();
    size_t written = 0;
    if (writes_pending_ == 0) {
      // Usually the kernel takes the whole response at once: no write request, no callback,
      // and none of the epoll re-arming libuv does after a queued write completes.
      uv_buf_t bufs[2] = {uv_buf_init(out_.data(), static_cast<unsigned>(out_.size())),
                          uv_buf_init(const_cast<char*>(tail_.data()), static_cast<unsigned>(tail_.size()))};
      int n = uv_try_write(stream, bufs, tail_.empty() ? 1 : 2);
      if (n < 0 && n != UV_EAGAIN) {
        out_.clear();
        tail_ = {};
        close();
        return;
      }
      if (n > 0) written = static_cast<size_t>(n);
    }
    if (written == total) {
      out_.clear();
      tail_ = {};
      // Keep the capacity for the next response, but not a huge pipelined burst's.
      if (out_.capacity() > kKeptOutputBytes) std::string().swap(out_);
    } else if (!queue_write(written)) {
      return;
    }
  }
  if (close_after_flush_ && writes_pending_ == 0) linger();
  else if (input_paused_ && writes_pending_ == 0 && server_) server_->schedule_resume(this);  // the kernel took it all
}

// What try_write left (from `offset` of out_ then tail_) goes out with uv_write: out_'s buffer
// moves into the request (never held twice), tail_ is copied (it is only valid until the loop
// runs again). False when the connection closed.
template <class Clock>
bool BasicHttpConnection<Clock>::queue_write(size_t offset) {
  auto* w = new WriteReq;
  w->req.data = this;
  w->data.swap(out_);
  if (offset < w->data.size()) {
    w->data.erase(0, offset);
    w->data += tail_;
  } else {
    w->data.assign(tail_.substr(offset - w->data.size()));
  }
  tail_ = {};
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  int rc = uv_write(&w->req, tcp_.stream(), &buf, 1, on_write);
  if (rc != 0) {  // failed synchronously: no callback will come
    delete w;
    close();
    return false;
  }
  ++writes_pending_;
  return true;
}

template <class Clock>
void BasicHttpConnection<Clock>::on_write(uv_write_t* req, int status) {
  auto* w = reinterpret_cast<WriteReq*>(req);
  auto* c = static_cast<BasicHttpConnection*>(req->data);
  delete w;
  --c->writes_pending_;
  if (status < 0) {
    if (status != UV_ECANCELED) c->close();
    return;
  }
  if (c->state_ == State::Closing) return;
  if (c->server_) c->server_->touch(c);  // the client reads: it is alive
  c->after_write();
}

template <class Clock>
void BasicHttpConnection<Clock>::after_write() {
  if (input_paused_) {
    if (tcp_.get()->write_queue_size <= kOutputLowWater && server_) server_->schedule_resume(this);
    return;
  }
  if (writes_pending_ > 0) return;
  if (close_after_flush_) {
    linger();
    return;
  }
  if (draining_ && state_ == State::Idle) close();
}

// After a final response: half-close, keep reading (and discarding) briefly so unread input
// does not turn our close into a reset that destroys the response in flight.
template <class Clock>
void BasicHttpConnection<Clock>::linger() {
  if (state_ == State::Closing) return;
  close_after_flush_ = false;
  state_ = State::Lingering;
  // Reading may have stopped for backpressure; start it again to discard.
  uv_read_start(tcp_.stream(), on_alloc, on_read);
  auto* req = new uv_shutdown_t;
  req->data = this;
  if (uv_shutdown(req, tcp_.stream(), on_shutdown) != 0) {
    delete req;
    close();
    return;
  }
  linger_ends_by_ = deadline_.now_ms() + static_cast<uint64_t>(kLingerMax.count());
  deadline_.set(kLinger);
}

template <class Clock>
void BasicHttpConnection<Clock>::extend_linger() {
  const uint64_t now = deadline_.now_ms();
  if (now >= linger_ends_by_) return;
  deadline_.set(std::min(kLinger, core::Millis(linger_ends_by_ - now)));
}

template <class Clock>
void BasicHttpConnection<Clock>::on_shutdown(uv_shutdown_t* req, int status) {
  auto* c = static_cast<BasicHttpConnection*>(req->data);
  delete req;
  if (status < 0 && status != UV_ECANCELED) c->close();
}

template <class Clock>
void BasicHttpConnection<Clock>::on_deadline() {
  switch (state_) {
    case State::Reading:
      if (server_ && server_->timeouts_) server_->timeouts_->inc();
      fail(408, "request header timeout");
      flush();
      break;
    case State::Idle:
      if (first_request_ && server_ && server_->timeouts_) server_->timeouts_->inc();
      close();  // keep-alive idle, or a client that never sent a byte
      break;
    case State::Lingering:
    case State::Closing:
      close();
      break;
  }
}

template class BasicHttpConnection<core::LoopClock>;
template class BasicHttpConnection<core::ManualClock>;

}  // namespace lg::http
