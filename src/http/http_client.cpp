#include "http/http_client.hpp"

#include <fmt/format.h>

#include "core/net_address.hpp"

namespace lg::http {

ClientError client_error_from_uv(int status, const std::string& where) {
  std::string code;
  switch (status) {
    case UV_ECONNREFUSED: code = "refused"; break;
    case UV_ETIMEDOUT: code = "timeout"; break;
    case UV_ENETUNREACH:
    case UV_EHOSTUNREACH: code = "unreachable"; break;
    case UV_ECONNRESET:
    case UV_EPIPE: code = "reset"; break;
    case UV_EAI_NONAME:
    case UV_EAI_AGAIN:
    case UV_EAI_FAIL:
    case UV_EAI_NODATA: code = "dns"; break;
    case UV_EOF: code = "closed"; break;
    default: code = "io";
  }
  std::string text = code == "refused" ? "connection refused" : code == "closed" ? "connection closed early" : uv_strerror(status);
  return {code, fmt::format("{} ({})", text, where)};
}

HttpClient* HttpClient::start(uv_loop_t* loop, ClientRequest request, Handlers handlers) {
  auto* c = new HttpClient(loop, std::move(request), std::move(handlers));
  // Begin on the next loop turn: handlers must never run inside start().
  c->start_ = new uv_timer_t;
  uv_timer_init(loop, c->start_);
  c->start_->data = c;
  ++c->refs_;
  uv_timer_start(c->start_, [](uv_timer_t* t) {
    auto* self = static_cast<HttpClient*>(t->data);
    uv_close(reinterpret_cast<uv_handle_t*>(t), [](uv_handle_t* h) {
      auto* owner = static_cast<HttpClient*>(h->data);
      delete reinterpret_cast<uv_timer_t*>(h);
      owner->release();
    });
    self->start_ = nullptr;
    if (!self->done_) self->begin();
  }, 0, 0);
  return c;
}

HttpClient::HttpClient(uv_loop_t* loop, ClientRequest request, Handlers handlers)
    : loop_(loop), request_(std::move(request)), handlers_(std::move(handlers)) {
  // The parser's callbacks tell it to stop once a handler has finished or cancelled us.
  ResponseParser::Callbacks callbacks;
  if (handlers_.on_headers) {
    callbacks.on_headers = [this](const ClientResponse& head) {
      handlers_.on_headers(head);
      return !done_;
    };
  }
  if (handlers_.on_body) {
    callbacks.on_body = [this](std::string_view chunk) {
      handlers_.on_body(chunk);
      return !done_;
    };
  }
  ResponseParser::Limits limits;
  limits.max_body_bytes = request_.max_body;
  parser_ = std::make_unique<ResponseParser>(limits, request_.method == "HEAD", std::move(callbacks));
}

void HttpClient::begin() {
  if (auto addr = parse_ip_literal(request_.host, request_.port)) {
    addresses_.push_back(*addr);
    connect_next();
    return;
  }
  auto* req = new uv_getaddrinfo_t;
  req->data = this;
  const addrinfo hints = tcp_lookup_hints();
  ++refs_;
  int rc = uv_getaddrinfo(loop_, req, on_resolved, request_.host.c_str(), std::to_string(request_.port).c_str(), &hints);
  if (rc != 0) {
    delete req;
    fail(client_error_from_uv(rc, "resolving " + request_.host));
    release();  // the reference taken for the request
  }
}

void HttpClient::on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* res) {
  auto* self = static_cast<HttpClient*>(req->data);
  delete req;
  if (!self->done_) {
    if (status != 0) {
      self->fail({"dns", fmt::format("cannot resolve {}: {}", self->request_.host, uv_strerror(status))});
    } else {
      self->addresses_ = answer_addresses(res);
      self->connect_next();
    }
  }
  uv_freeaddrinfo(res);
  self->release();
}

void HttpClient::connect_next() {
  if (done_) return;
  if (next_address_ >= addresses_.size()) {
    fail(client_error_from_uv(last_connect_error_ ? last_connect_error_ : UV_ECONNREFUSED,
                              fmt::format("connecting to {}:{}", request_.host, request_.port)));
    return;
  }
  const auto& addr = addresses_[next_address_++];
  socket_ = new uv_tcp_t;
  uv_tcp_init(loop_, socket_);
  socket_->data = this;
  ++refs_;
  auto* req = new uv_connect_t;
  req->data = this;
  int rc = uv_tcp_connect(req, socket_, reinterpret_cast<const sockaddr*>(&addr), on_connect);
  if (rc != 0) {
    delete req;
    last_connect_error_ = rc;
    close_socket();
    connect_next();
    return;
  }
  ++refs_;
}

void HttpClient::on_connect(uv_connect_t* req, int status) {
  auto* self = static_cast<HttpClient*>(req->data);
  delete req;
  if (!self->done_) {
    if (status < 0) {
      self->last_connect_error_ = status;
      self->close_socket();
      self->connect_next();  // next resolved address
    } else {
      uv_tcp_nodelay(self->socket_, 1);
      self->send_request();
    }
  }
  self->release();
}

void HttpClient::send_request() {
  std::string host = request_.host_header;
  if (host.empty()) {
    host = request_.host.find(':') != std::string::npos ? "[" + request_.host + "]" : request_.host;
    if (request_.port != 80) host += ":" + std::to_string(request_.port);
  }
  wire_ = fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: lettagate\r\nConnection: close\r\n", request_.method,
                      request_.target, host);
  for (const auto& [k, v] : request_.headers) wire_ += k + ": " + v + "\r\n";
  if (!request_.body.empty() || request_.method == "POST" || request_.method == "PUT")
    wire_ += fmt::format("Content-Length: {}\r\n", request_.body.size());
  wire_ += "\r\n" + request_.body;
  auto* w = new uv_write_t;
  w->data = this;
  uv_buf_t buf = uv_buf_init(wire_.data(), static_cast<unsigned>(wire_.size()));
  int rc = uv_write(w, reinterpret_cast<uv_stream_t*>(socket_), &buf, 1, on_write);
  if (rc != 0) {
    delete w;
    fail(client_error_from_uv(rc, "sending request"));
    return;
  }
  ++refs_;
  uv_read_start(reinterpret_cast<uv_stream_t*>(socket_), on_alloc, on_read);
}

void HttpClient::on_write(uv_write_t* req, int status) {
  auto* self = static_cast<HttpClient*>(req->data);
  delete req;
  if (!self->done_ && status < 0 && status != UV_ECANCELED)
    self->fail(client_error_from_uv(status, "sending request"));
  self->release();
}

void HttpClient::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* self = static_cast<HttpClient*>(h->data);
  buf->base = self->buffer_;
  buf->len = sizeof self->buffer_;
}

void HttpClient::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<HttpClient*>(s->data);
  if (self->done_ || nread == 0) return;
  if (nread == UV_EOF) {
    // A response without a length ends at EOF: finish() completes it (or it was cut short).
    auto result = self->parser_->finish();
    if (result == ResponseParser::Result::Complete) {
      self->complete();
    } else if (!self->done_) {
      self->fail({"closed", self->parser_->headers_done() ? "connection closed before the response ended"
                                                          : "connection closed before any response"});
    }
    return;
  }
  if (nread < 0) {
    self->fail(client_error_from_uv(static_cast<int>(nread), "reading response"));
    return;
  }
  self->parsed(self->parser_->feed(buf->base, static_cast<size_t>(nread)));
}

void HttpClient::parsed(ResponseParser::Result result) {
  using R = ResponseParser::Result;
  switch (result) {
    case R::Ok: return;
    case R::Complete: complete(); return;
    case R::Stopped: return;  // a handler finished or cancelled us
    case R::HeaderTooLarge:
    case R::BodyTooLarge: fail({"too_large", parser_->error_reason()}); return;
    case R::Malformed: fail({"protocol", fmt::format("invalid HTTP response: {}", parser_->error_reason())}); return;
  }
}

void HttpClient::complete() {
  if (done_) return;
  done_ = true;
  auto cb = std::move(handlers_.on_complete);
  auto response = std::move(parser_->response());
  handlers_ = {};
  close_socket();
  if (cb) cb(std::move(response));
}

void HttpClient::fail(ClientError e) {
  if (done_) return;
  done_ = true;
  auto cb = std::move(handlers_.on_error);
  handlers_ = {};
  close_socket();
  if (cb) cb(std::move(e));
}

void HttpClient::cancel() {
  if (done_) return;
  done_ = true;
  handlers_ = {};
  close_socket();  // not begun yet: the deferred start sees done_ and only closes its timer
}

void HttpClient::close_socket() {
  if (!socket_) return;
  uv_close(reinterpret_cast<uv_handle_t*>(socket_), on_socket_closed);
  socket_ = nullptr;
}

void HttpClient::on_socket_closed(uv_handle_t* h) {
  auto* self = static_cast<HttpClient*>(h->data);
  delete reinterpret_cast<uv_tcp_t*>(h);
  self->release();
}

void HttpClient::release() {
  if (--refs_ == 0 && done_) delete this;
}

}  // namespace lg::http
