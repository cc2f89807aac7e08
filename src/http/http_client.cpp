#include "http/http_client.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace lg::http {
namespace {

struct WriteReq {
  uv_write_t req;
};

HttpClient* self_of(llhttp_t* p) { return static_cast<HttpClient*>(p->data); }

}  // namespace

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
  llhttp_settings_init(&settings_);
  settings_.on_status = on_status;
  settings_.on_header_field = on_header_field;
  settings_.on_header_value = on_header_value;
  settings_.on_headers_complete = on_headers_complete;
  settings_.on_body = on_body;
  settings_.on_message_complete = on_message_complete;
  llhttp_init(&parser_, HTTP_RESPONSE, &settings_);
  parser_.data = this;
}

void HttpClient::begin() {
  sockaddr_storage addr{};
  if (uv_ip4_addr(request_.host.c_str(), request_.port, reinterpret_cast<sockaddr_in*>(&addr)) == 0 ||
      uv_ip6_addr(request_.host.c_str(), request_.port, reinterpret_cast<sockaddr_in6*>(&addr)) == 0) {
    addresses_.push_back(addr);
    connect_next();
    return;
  }
  auto* req = new uv_getaddrinfo_t;
  req->data = this;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
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
      for (addrinfo* a = res; a; a = a->ai_next) {
        sockaddr_storage s{};
        std::memcpy(&s, a->ai_addr, a->ai_addrlen);
        self->addresses_.push_back(s);
      }
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
    // A response without a length ends at EOF: llhttp_finish completes it (or errors).
    if (llhttp_finish(&self->parser_) != HPE_OK || !self->done_) {
      if (!self->done_)
        self->fail({"closed", self->response_.status ? "connection closed before the response ended"
                                                     : "connection closed before any response"});
    }
    return;
  }
  if (nread < 0) {
    self->fail(client_error_from_uv(static_cast<int>(nread), "reading response"));
    return;
  }
  llhttp_errno_t err = llhttp_execute(&self->parser_, buf->base, static_cast<size_t>(nread));
  if (self->done_) return;
  if (err != HPE_OK && err != HPE_PAUSED) {
    const char* why = llhttp_get_error_reason(&self->parser_);
    self->fail({err == HPE_USER ? "too_large" : "protocol",
                fmt::format("invalid HTTP response: {}", why ? why : llhttp_errno_name(err))});
  }
}

int HttpClient::on_status(llhttp_t*, const char*, size_t) { return 0; }

int HttpClient::on_header_field(llhttp_t* p, const char* at, size_t len) {
  auto* self = self_of(p);
  if (self->in_value_) {
    self->in_value_ = false;
    self->field_.clear();
  }
  self->field_.append(at, len);
  return 0;
}

int HttpClient::on_header_value(llhttp_t* p, const char* at, size_t len) {
  auto* self = self_of(p);
  if (!self->in_value_) {
    self->in_value_ = true;
    std::string name = self->field_;
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    self->response_.headers.emplace_back(std::move(name), std::string());
  }
  self->response_.headers.back().second.append(at, len);
  return 0;
}

int HttpClient::on_headers_complete(llhttp_t* p) {
  auto* self = self_of(p);
  self->response_.status = p->status_code;
  if (self->handlers_.on_headers) {
    self->handlers_.on_headers(self->response_);
    if (self->done_) return HPE_PAUSED;
  }
  return self->request_.method == "HEAD" ? 1 : 0;
}

int HttpClient::on_body(llhttp_t* p, const char* at, size_t len) {
  auto* self = self_of(p);
  if (self->handlers_.on_body) {
    self->handlers_.on_body(std::string_view(at, len));
    return self->done_ ? HPE_PAUSED : 0;
  }
  if (self->response_.body.size() + len > self->request_.max_body) {
    llhttp_set_error_reason(p, "response body too large");
    return HPE_USER;
  }
  self->response_.body.append(at, len);
  return 0;
}

int HttpClient::on_message_complete(llhttp_t* p) {
  self_of(p)->complete();
  return HPE_PAUSED;
}

void HttpClient::complete() {
  if (done_) return;
  done_ = true;
  auto cb = std::move(handlers_.on_complete);
  auto response = std::move(response_);
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
