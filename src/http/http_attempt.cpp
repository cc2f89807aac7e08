#include "http/http_attempt.hpp"

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

HttpAttempt* HttpAttempt::start(uv_loop_t* loop, ClientRequest request, Handlers handlers) {
  auto* a = new HttpAttempt(loop, std::move(request), std::move(handlers));
  // The query answers later, even for an IP literal: no handler runs inside start().
  a->dns_ =
      core::DnsQuery::start(loop, a->request_.host, a->request_.port,
                            [a](int status, const core::Addresses& addresses) { a->on_resolved(status, addresses); });
  return a;
}

HttpAttempt::HttpAttempt(uv_loop_t* loop, ClientRequest request, Handlers handlers)
    : connector_(loop, group_, socket_, this, *this), request_(std::move(request)), handlers_(std::move(handlers)) {
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
  write_req_.data = this;
}

void HttpAttempt::on_resolved(int status, const core::Addresses& addresses) {
  dns_ = nullptr;
  if (status != 0) {
    fail({"dns", fmt::format("cannot resolve {}: {}", request_.host, uv_strerror(status))});
    return;
  }
  connector_.start(addresses, core::Millis{0});  // the caller's deadline covers the whole attempt
}

void HttpAttempt::on_connect_failed(int status) {
  fail(client_error_from_uv(status, fmt::format("connecting to {}:{}", request_.host, request_.port)));
}

void HttpAttempt::on_connected() {
  uv_tcp_nodelay(socket_.get(), 1);
  send_request();
}

void HttpAttempt::send_request() {
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
  uv_buf_t buf = uv_buf_init(wire_.data(), static_cast<unsigned>(wire_.size()));
  if (int rc = uv_write(&write_req_, socket_.stream(), &buf, 1, on_write); rc != 0) {
    fail(client_error_from_uv(rc, "sending request"));  // no callback will come
    return;
  }
  uv_read_start(socket_.stream(), on_alloc, on_read);
}

void HttpAttempt::on_write(uv_write_t* req, int status) {
  auto* self = static_cast<HttpAttempt*>(req->data);
  if (!self->done_ && status < 0 && status != UV_ECANCELED) self->fail(client_error_from_uv(status, "sending request"));
}

void HttpAttempt::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* self = static_cast<HttpAttempt*>(h->data);
  buf->base = self->buffer_;
  buf->len = sizeof self->buffer_;
}

void HttpAttempt::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<HttpAttempt*>(s->data);
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

void HttpAttempt::parsed(ResponseParser::Result result) {
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

void HttpAttempt::complete() {
  if (done_) return;
  done_ = true;
  auto cb = std::move(handlers_.on_complete);
  auto response = std::move(parser_->response());
  handlers_ = {};
  core::HandleGroup::Keep keep(group_);  // the handler runs before the attempt may go
  end();
  if (cb) cb(std::move(response));
}

void HttpAttempt::fail(ClientError e) {
  if (done_) return;
  done_ = true;
  auto cb = std::move(handlers_.on_error);
  handlers_ = {};
  core::HandleGroup::Keep keep(group_);
  end();
  if (cb) cb(std::move(e));
}

void HttpAttempt::cancel() {
  if (done_) return;
  done_ = true;
  handlers_ = {};
  end();
}

void HttpAttempt::end() {
  if (dns_) dns_->cancel();
  dns_ = nullptr;
  connector_.cancel();
  socket_.close();
  group_.close();
}

}  // namespace lg::http
