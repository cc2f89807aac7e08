#include "http/response_parser.hpp"


namespace lg::http {
namespace {

ResponseParser* self(llhttp_t* p) { return static_cast<ResponseParser*>(p->data); }

}  // namespace

ResponseParser::ResponseParser(Limits limits, bool head_request, Callbacks callbacks)
    : limits_(limits), head_request_(head_request), callbacks_(std::move(callbacks)) {
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

ResponseParser::Result ResponseParser::feed(const char* data, size_t len) {
  return result_of(llhttp_execute(&parser_, data, len));
}

ResponseParser::Result ResponseParser::finish() {
  if (complete_) return Result::Complete;
  return result_of(llhttp_finish(&parser_));
}

ResponseParser::Result ResponseParser::result_of(llhttp_errno_t err) const {
  if (complete_) return Result::Complete;
  if (stopped_) return Result::Stopped;
  if (err == HPE_OK) return Result::Ok;
  if (failure_ != Result::Ok) return failure_;
  return Result::Malformed;
}

std::string ResponseParser::error_reason() const {
  switch (failure_) {
    case Result::HeaderTooLarge: return "response header fields too large";
    case Result::BodyTooLarge: return "response body too large";
    default: break;
  }
  const char* why = llhttp_get_error_reason(&parser_);
  if (why && *why) return why;
  return llhttp_errno_name(llhttp_get_errno(&parser_));
}

bool ResponseParser::count_header_bytes(size_t len) {
  header_bytes_ += len;
  if (header_bytes_ <= limits_.max_header_bytes) return true;
  failure_ = Result::HeaderTooLarge;
  return false;
}

int ResponseParser::on_status(llhttp_t* p, const char*, size_t len) {
  return self(p)->count_header_bytes(len) ? 0 : HPE_USER;
}

int ResponseParser::on_header_field(llhttp_t* p, const char* at, size_t len) {
  auto* s = self(p);
  if (!s->count_header_bytes(len)) return HPE_USER;
  s->headers_.field(at, len);
  return 0;
}

int ResponseParser::on_header_value(llhttp_t* p, const char* at, size_t len) {
  auto* s = self(p);
  if (!s->count_header_bytes(len)) return HPE_USER;
  s->headers_.value(s->response_.headers, at, len);
  return 0;
}

int ResponseParser::on_headers_complete(llhttp_t* p) {
  auto* s = self(p);
  s->response_.status = p->status_code;
  s->headers_done_ = true;
  if (s->callbacks_.on_headers && !s->callbacks_.on_headers(s->response_)) {
    s->stopped_ = true;
    return HPE_PAUSED;
  }
  return s->head_request_ ? 1 : 0;  // 1: no body follows
}

int ResponseParser::on_body(llhttp_t* p, const char* at, size_t len) {
  auto* s = self(p);
  if (s->callbacks_.on_body) {
    if (s->callbacks_.on_body(std::string_view(at, len))) return 0;
    s->stopped_ = true;
    return HPE_PAUSED;
  }
  if (s->response_.body.size() + len > s->limits_.max_body_bytes) {
    s->failure_ = Result::BodyTooLarge;
    return HPE_USER;
  }
  s->response_.body.append(at, len);
  return 0;
}

int ResponseParser::on_message_complete(llhttp_t* p) {
  self(p)->complete_ = true;
  return HPE_PAUSED;  // one response per connection: what follows is not ours
}

}  // namespace lg::http
