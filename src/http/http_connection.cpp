#include "http/http_connection.hpp"

#include <fmt/format.h>

#include "core/log.hpp"
#include "http/http_server.hpp"

namespace lg::http {
namespace {

constexpr size_t kWriteHighWater = 1 << 20;  // stop reading pipelined requests above this
constexpr Millis kLinger{2000};              // after a final response, how long unread input may drain

struct WriteReq {
  uv_write_t req;
  std::string data;
};

}  // namespace

HttpConnection::HttpConnection(HttpServer* server, uv_loop_t* loop)
    : server_(server),
      parser_({server->options_.max_header_bytes, server->options_.max_body_bytes}, [this] { on_request_begin(); },
              [this](const Request& r) { return on_request(r); }) {
  uv_tcp_init(loop, &tcp_);
  tcp_.data = this;
  timer_ = Timer::create(loop, [this] { on_deadline(); });
}

void HttpConnection::start() {
  uv_tcp_nodelay(&tcp_, 1);
  // The first request's deadline runs from accept: a client that sends nothing is cut too.
  timer_->start(server_->options_.header_timeout);
  uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), on_alloc, on_read);
}

void HttpConnection::reject_busy() {
  Response r = Response::text(503, "too many connections\n");
  Request req;
  req.method = "GET";
  respond(req, std::move(r), false);
  flush();
}

void HttpConnection::drain() {
  draining_ = true;
  if (state_ == State::Idle && writes_pending_ == 0) close();
}

void HttpConnection::close() {
  if (state_ == State::Closing) return;
  state_ = State::Closing;
  if (timer_) {
    timer_->close();
    timer_ = nullptr;
  }
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
  if (!first_request_ && server_) timer_->start(server_->options_.header_timeout);
  first_request_ = false;
  state_ = State::Reading;
}

bool HttpConnection::on_request(const Request& req) {
  if (!server_) return false;
  timer_->stop();
  const bool keep_alive = req.keep_alive && !draining_ && !server_->stopping_;
  respond(req, server_->handler_(req), keep_alive);
  if (!keep_alive) return false;  // answer nothing after a final response
  state_ = State::Idle;
  timer_->start(server_->options_.keepalive_timeout);
  return true;
}

void HttpConnection::respond(const Request& req, Response res, bool keep_alive) {
  if (server_ && server_->requests_) {
    static const char* kKnown[] = {"/livez", "/readyz", "/status", "/metrics", "/"};
    std::string route = "other";
    for (auto* k : kKnown)
      if (req.path == k) route = k;
    server_->requests_->with({route, std::to_string(res.status)}).inc();
  }
  std::string head = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n", res.status,
                                 reason_phrase(res.status), res.content_type, res.body.size());
  for (const auto& [k, v] : res.headers) head += k + ": " + v + "\r\n";
  head += keep_alive ? "\r\n" : "Connection: close\r\n\r\n";
  out_ += head;
  if (req.method != "HEAD") out_ += res.body;
  if (!keep_alive) close_after_flush_ = true;
}

void HttpConnection::fail(int status, const char* why) {
  if (state_ == State::Lingering || state_ == State::Closing) return;
  Request req;
  req.method = "GET";
  respond(req, Response::text(status, std::string(why) + "\n"), false);
  state_ = State::Lingering;
}

void HttpConnection::flush() {
  if (state_ == State::Closing) return;
  if (!out_.empty()) {
    auto* w = new WriteReq;
    w->req.data = this;
    w->data.swap(out_);
    uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
    int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1, on_write);
    if (rc != 0) {  // failed synchronously: no callback will come
      delete w;
      close();
      return;
    }
    ++writes_pending_;
  }
  if (close_after_flush_ && writes_pending_ == 0) linger();
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
  timer_->start(kLinger);
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
