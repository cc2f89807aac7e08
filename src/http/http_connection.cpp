#include "http/http_connection.hpp"

#include "core/log.hpp"
#include "http/http_server.hpp"
#include "metrics/exposition.hpp"

namespace lg::http {
namespace {

constexpr size_t kWriteHighWater = 1 << 20;  // stop reading pipelined requests above this
constexpr Millis kLinger{2000};              // after a final response, how long unread input may drain
constexpr size_t kKeptOutputBytes = 64 * 1024;  // output capacity a connection keeps between requests

struct WriteReq {
  uv_write_t req;
  std::string data;
};

}  // namespace

HttpConnection::HttpConnection(HttpServer* server, uv_loop_t* loop)
    : server_(server),
      deadline_(loop, [this] { on_deadline(); }),
      parser_({server->options_.max_header_bytes, server->options_.max_body_bytes}, [this] { on_request_begin(); },
              [this](const Request& r) { return on_request(r); }) {
  uv_tcp_init(loop, &tcp_);
  tcp_.data = this;
}

void HttpConnection::start() {
  uv_tcp_nodelay(&tcp_, 1);
  // The first request's deadline runs from accept: a client that sends nothing is cut too.
  deadline_.set(server_->options_.header_timeout);
  uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), on_alloc, on_read);
}

void HttpConnection::reject_busy() {
  Response r = Response::text(503, "too many connections\n");
  Request req;
  req.method = "GET";
  respond(req, r, false);
  flush();
}

void HttpConnection::drain() {
  draining_ = true;
  if (state_ == State::Idle && writes_pending_ == 0) close();
}

void HttpConnection::close() {
  if (state_ == State::Closing) return;
  state_ = State::Closing;
  deadline_.close();
  if (server_) {
    server_->forget(this);
    if (server_->active_) server_->active_->dec();
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), on_close);
}

void HttpConnection::on_close(uv_handle_t* h) { delete static_cast<HttpConnection*>(h->data); }

void HttpConnection::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* c = static_cast<HttpConnection*>(h->data);
  if (!c->server_) {
    buf->base = nullptr;
    buf->len = 0;
    return;
  }
  buf->base = c->server_->read_buffer_;
  buf->len = sizeof(c->server_->read_buffer_);
}

void HttpConnection::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* c = static_cast<HttpConnection*>(s->data);
  if (nread == 0) return;
  if (nread < 0) {  // EOF, reset, or ENOBUFS after detach
    c->close();
    return;
  }
  if (c->state_ == State::Lingering || c->state_ == State::Closing) return;  // discard
  c->feed(buf->base, static_cast<size_t>(nread));
}

void HttpConnection::feed(const char* data, size_t len) {
  switch (parser_.feed(data, len)) {
    case RequestParser::Result::Ok:
    case RequestParser::Result::Stopped:  // the last request we answer on this connection
      break;
    case RequestParser::Result::HeaderTooLarge: fail(431, "header fields too large"); break;
    case RequestParser::Result::BodyTooLarge: fail(413, "body too large"); break;
    case RequestParser::Result::Malformed: fail(400, parser_.error_reason().c_str()); break;
  }
  flush();
  auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
  if (state_ != State::Closing && stream->write_queue_size > kWriteHighWater) uv_read_stop(stream);
}

void HttpConnection::on_request_begin() {
  // The first request's deadline runs from accept; later ones from their first byte.
  if (!first_request_ && server_) deadline_.set(server_->options_.header_timeout);
  first_request_ = false;
  state_ = State::Reading;
}

bool HttpConnection::on_request(const Request& req) {
  if (!server_) return false;
  deadline_.clear();
  take_tail();  // the handler may rewrite what the previous response's shared body shows
  const bool keep_alive = req.keep_alive && !draining_ && !server_->stopping_;
  respond(req, server_->handler_(req), keep_alive);
  if (!keep_alive) return false;  // answer nothing after a final response
  state_ = State::Idle;
  deadline_.set(server_->options_.keepalive_timeout);
  return true;
}

void HttpConnection::respond(const Request& req, const Response& res, bool keep_alive) {
  take_tail();
  if (server_) server_->count_request(req.path, res.status);
  const std::string_view body = res.payload();
  const bool head_only = req.method == "HEAD";
  out_.reserve(out_.size() + 160 + res.extra_headers.size() + (head_only || res.shared ? 0 : body.size()));
  out_ += "HTTP/1.1 ";
  metrics::append_uint(out_, static_cast<uint64_t>(res.status));
  out_ += ' ';
  out_ += reason_phrase(res.status);
  out_ += "\r\nContent-Type: ";
  out_ += res.content_type;
  out_ += "\r\nContent-Length: ";
  metrics::append_uint(out_, body.size());
  out_ += "\r\n";
  out_ += res.extra_headers;
  out_ += keep_alive ? "\r\n" : "Connection: close\r\n\r\n";
  if (!head_only) {
    if (res.shared) tail_ = body;  // written from where it is (no copy) unless it must be queued
    else out_ += body;
  }
  if (!keep_alive) close_after_flush_ = true;
}

void HttpConnection::take_tail() {
  out_ += tail_;
  tail_ = {};
}

void HttpConnection::fail(int status, const char* why) {
  if (state_ == State::Lingering || state_ == State::Closing) return;
  Request req;
  req.method = "GET";
  respond(req, Response::text(status, std::string(why) + "\n"), false);
  state_ = State::Lingering;
}

void HttpConnection::flush() {
  if (state_ == State::Closing) {
    tail_ = {};
    return;
  }
  const size_t total = out_.size() + tail_.size();
  if (total > 0) {
    auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
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
}

// What try_write left (from `offset` of out_ then tail_) goes out with uv_write, as a copy:
// tail_ is only valid until the loop runs again. False when the connection closed.
bool HttpConnection::queue_write(size_t offset) {
  auto* w = new WriteReq;
  w->req.data = this;
  if (offset == 0 && tail_.empty()) {
    w->data.swap(out_);
  } else if (offset < out_.size()) {
    w->data.reserve(out_.size() - offset + tail_.size());
    w->data.assign(out_, offset);
    w->data += tail_;
  } else {
    w->data.assign(tail_.substr(offset - out_.size()));
  }
  out_.clear();
  tail_ = {};
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1, on_write);
  if (rc != 0) {  // failed synchronously: no callback will come
    delete w;
    close();
    return false;
  }
  ++writes_pending_;
  return true;
}

void HttpConnection::on_write(uv_write_t* req, int status) {
  auto* w = reinterpret_cast<WriteReq*>(req);
  auto* c = static_cast<HttpConnection*>(req->data);
  delete w;
  --c->writes_pending_;
  if (status < 0) {
    if (status != UV_ECANCELED) c->close();
    return;
  }
  if (c->state_ == State::Closing) return;
  if (c->writes_pending_ == 0) {
    if (c->close_after_flush_) {
      c->linger();
      return;
    }
    if (c->draining_ && c->state_ == State::Idle) {
      c->close();
      return;
    }
    uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp_), on_alloc, on_read);
  }
}

// After a final response: half-close, keep reading (and discarding) briefly so unread input
// does not turn our close into a reset that destroys the response in flight.
void HttpConnection::linger() {
  if (state_ == State::Closing) return;
  close_after_flush_ = false;
  state_ = State::Lingering;
  auto* req = new uv_shutdown_t;
  req->data = this;
  if (uv_shutdown(req, reinterpret_cast<uv_stream_t*>(&tcp_), on_shutdown) != 0) {
    delete req;
    close();
    return;
  }
  deadline_.set(kLinger);
}

void HttpConnection::on_shutdown(uv_shutdown_t* req, int status) {
  auto* c = static_cast<HttpConnection*>(req->data);
  delete req;
  if (status < 0 && status != UV_ECANCELED) c->close();
}

void HttpConnection::on_deadline() {
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

}  // namespace lg::http
