#include "http/request_parser.hpp"


namespace lg::http {
namespace {

RequestParser* self(llhttp_t* p) { return static_cast<RequestParser*>(p->data); }

}  // namespace

RequestParser::RequestParser(Limits limits, OnBegin on_begin, OnRequest on_request)
    : limits_(limits), on_begin_(std::move(on_begin)), on_request_(std::move(on_request)) {
  llhttp_settings_init(&settings_);
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

RequestParser::Result RequestParser::feed(const char* data, size_t len, size_t* parsed) {
  llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  if (parsed) *parsed = len;
  if (err == HPE_OK) return Result::Ok;
  if (err == HPE_PAUSED && pause_asked_) {
    // llhttp stopped right after the request; error_pos is where the next one starts.
    pause_asked_ = false;
    if (parsed) *parsed = static_cast<size_t>(llhttp_get_error_pos(&parser_) - data);
    llhttp_resume(&parser_);
    return Result::Paused;
  }
  if (err == HPE_PAUSED) return Result::Stopped;
  if (failure_ != Result::Ok) return failure_;
  return Result::Malformed;
}

std::string RequestParser::error_reason() const {
  switch (failure_) {
    case Result::HeaderTooLarge: return "header fields too large";
    case Result::BodyTooLarge: return "body too large";
    default: break;
  }
  const char* why = llhttp_get_error_reason(&parser_);
  return why && *why ? why : "bad request";
}

bool RequestParser::count_header_bytes(size_t len) {
  header_bytes_ += len;
  if (header_bytes_ <= limits_.max_header_bytes) return true;
  failure_ = Result::HeaderTooLarge;
  return false;
}

int RequestParser::on_message_begin(llhttp_t* p) {
  auto* s = self(p);
  s->request_ = Request{};
  s->headers_.reset();
  s->header_bytes_ = 0;
  if (s->on_begin_) s->on_begin_();
  return 0;
}

int RequestParser::on_url(llhttp_t* p, const char* at, size_t len) {
  auto* s = self(p);
  if (!s->count_header_bytes(len)) return HPE_USER;
  s->request_.target.append(at, len);
  return 0;
}

int RequestParser::on_header_field(llhttp_t* p, const char* at, size_t len) {
  auto* s = self(p);
  if (!s->count_header_bytes(len)) return HPE_USER;
  s->headers_.field(at, len);
  return 0;
}

int RequestParser::on_header_value(llhttp_t* p, const char* at, size_t len) {
  auto* s = self(p);
  if (!s->count_header_bytes(len)) return HPE_USER;
  s->headers_.value(s->request_.headers, at, len);
  return 0;
}

int RequestParser::on_headers_complete(llhttp_t* p) {
  auto& r = self(p)->request_;
  r.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
  r.http_minor = p->http_minor;
  auto q = r.target.find('?');
  r.path = r.target.substr(0, q);
  if (q != std::string::npos) r.query = r.target.substr(q + 1);
  r.keep_alive = llhttp_should_keep_alive(p) != 0;
  return 0;
}

int RequestParser::on_body(llhttp_t* p, const char* at, size_t len) {
  auto* s = self(p);
  if (s->request_.body.size() + len > s->limits_.max_body_bytes) {
    s->failure_ = Result::BodyTooLarge;
    return HPE_USER;
  }
  s->request_.body.append(at, len);
  return 0;
}

int RequestParser::on_message_complete(llhttp_t* p) {
  auto* s = self(p);
  if (!s->on_request_(s->request_)) {
    s->pause_asked_ = false;  // a stop is final, whatever else was asked
    return HPE_PAUSED;
  }
  return s->pause_asked_ ? HPE_PAUSED : 0;
}

}  // namespace lg::http
