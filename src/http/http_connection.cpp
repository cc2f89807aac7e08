#include "http/http_connection.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

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

const llhttp_settings_t& parser_settings() {
  static const llhttp_settings_t s = [] {
    llhttp_settings_t x;
    llhttp_settings_init(&x);
    return x;
  }();
  return s;
}

HttpConnection* self(llhttp_t* p) { return static_cast<HttpConnection*>(p->data); }

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

HttpConnection::HttpConnection(HttpServer* server, uv_loop_t* loop) : server_(server) {
  uv_tcp_init(loop, &tcp_);
  tcp_.data = this;
  timer_ = Timer::create(loop, [this] { on_deadline(); });
  settings_ = parser_settings();
  settings_.on_message_begin = on_message_begin;
  settings_.on_url = on_url;
  settings_.on_header_field = on_header_field;
  settings_.on_header_value = on_header_value;
  settings_.on_headers_complete = on_headers_complete;
  settings_.on_body = on_body;
  settings_.on_message_complete = on_message_complete;
  llhttp_init(&parser_, HTTP_REQUEST, &settings_);
  parser_.data = this;
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
  llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  if (err == HPE_PAUSED) {
    // on_message_complete paused: this was the last request we answer on this connection.
  } else if (err == HPE_USER) {
    fail(431, "header fields too large");
  } else if (err != HPE_OK) {
    if (state_ != State::Lingering && state_ != State::Closing)
      fail(400, llhttp_get_error_reason(&parser_) ? llhttp_get_error_reason(&parser_) : "bad request");
  }
  flush();
  auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
  if (state_ != State::Closing && stream->write_queue_size > kWriteHighWater) uv_read_stop(stream);
}

bool HttpConnection::count_header_bytes(size_t len) {
  header_bytes_ += len;
  if (server_ && header_bytes_ > server_->options_.max_header_bytes) {
    llhttp_set_error_reason(&parser_, "header fields too large");
    return false;
  }
  return true;
}

int HttpConnection::on_message_begin(llhttp_t* p) {
  auto* c = self(p);
  c->request_ = Request{};
  c->field_.clear();
  c->in_value_ = false;
  c->header_bytes_ = 0;
  if (!c->first_request_ && c->server_) c->timer_->start(c->server_->options_.header_timeout);
  c->first_request_ = false;
  c->state_ = State::Reading;
  return 0;
}

int HttpConnection::on_url(llhttp_t* p, const char* at, size_t len) {
  auto* c = self(p);
  if (!c->count_header_bytes(len)) return HPE_USER;
  c->request_.target.append(at, len);
  return 0;
}

int HttpConnection::on_header_field(llhttp_t* p, const char* at, size_t len) {
  auto* c = self(p);
  if (!c->count_header_bytes(len)) return HPE_USER;
  if (c->in_value_) {
    c->in_value_ = false;
    c->field_.clear();
  }
  c->field_.append(at, len);
  return 0;
}

int HttpConnection::on_header_value(llhttp_t* p, const char* at, size_t len) {
  auto* c = self(p);
  if (!c->count_header_bytes(len)) return HPE_USER;
  if (!c->in_value_) {
    c->in_value_ = true;
    c->request_.headers.emplace_back(lower(c->field_), std::string());
  }
  c->request_.headers.back().second.append(at, len);
  return 0;
}

int HttpConnection::on_headers_complete(llhttp_t* p) {
  auto* c = self(p);
  auto& r = c->request_;
  r.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
  r.http_minor = p->http_minor;
  auto q = r.target.find('?');
  r.path = r.target.substr(0, q);
  if (q != std::string::npos) r.query = r.target.substr(q + 1);
  r.keep_alive = llhttp_should_keep_alive(p) != 0;
  return 0;
}

int HttpConnection::on_body(llhttp_t* p, const char* at, size_t len) {
  auto* c = self(p);
  if (c->server_ && c->request_.body.size() + len > c->server_->options_.max_body_bytes) {
    llhttp_set_error_reason(p, "body too large");
    c->fail(413, "body too large");
    return -1;
  }
  c->request_.body.append(at, len);
  return 0;
}

int HttpConnection::on_message_complete(llhttp_t* p) {
  auto* c = self(p);
  if (!c->server_) return HPE_PAUSED;
  c->timer_->stop();
  const bool keep_alive = c->request_.keep_alive && !c->draining_ && !c->server_->stopping_;
  Response res = c->server_->handler_(c->request_);
  c->respond(c->request_, std::move(res), keep_alive);
  if (!keep_alive) return HPE_PAUSED;  // answer nothing after a final response
  c->state_ = State::Idle;
  c->timer_->start(c->server_->options_.keepalive_timeout);
  return 0;
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
