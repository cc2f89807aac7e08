#pragma once
// RequestParser: HTTP/1.x requests from a byte stream, on llhttp, with the server's limits.
// Socket-free, so it is unit-tested and fuzzed directly; HttpConnection feeds it.
#include <llhttp.h>

#include <functional>
#include <string>

#include "http/header_collector.hpp"
#include "http/http_message.hpp"

namespace lg::http {

class RequestParser {
 public:
  struct Limits {
    size_t max_header_bytes = 8192;  // request line + header names and values
    size_t max_body_bytes = 64 * 1024;
  };
  // Paused: pause() was asked for in OnRequest; the bytes after that request were not parsed
  // (feed's *parsed says how many were) and the parser takes them, or others, in a later feed().
  enum class Result { Ok, Paused, Stopped, HeaderTooLarge, BodyTooLarge, Malformed };

  // Called when a request's first byte arrives (the header deadline starts there).
  using OnBegin = std::function<void()>;
  // Called with each complete request; return false when it was the last one to answer
  // (Connection: close): parsing stops and feed() returns Stopped.
  using OnRequest = std::function<bool(const Request&)>;

  RequestParser(Limits limits, OnBegin on_begin, OnRequest on_request);
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Parses what arrived; *parsed (when given) gets how many bytes were, all of them unless
  // Paused. After anything but Ok or Paused the parser must not be fed again.
  Result feed(const char* data, size_t len, size_t* parsed = nullptr);
  // From inside OnRequest (returning true): stop after this request, so the caller can deal
  // with its output before parsing the rest. Applied when the callback returns, as Node's
  // parser applies a pause asked for in a callback.
  void pause() { pause_asked_ = true; }
  // Why the last feed() failed, for the error response.
  std::string error_reason() const;

 private:
  static int on_message_begin(llhttp_t* p);
  static int on_url(llhttp_t* p, const char* at, size_t len);
  static int on_header_field(llhttp_t* p, const char* at, size_t len);
  static int on_header_value(llhttp_t* p, const char* at, size_t len);
  static int on_headers_complete(llhttp_t* p);
  static int on_body(llhttp_t* p, const char* at, size_t len);
  static int on_message_complete(llhttp_t* p);
  bool count_header_bytes(size_t len);

  Limits limits_;
  OnBegin on_begin_;
  OnRequest on_request_;
  llhttp_t parser_{};
  llhttp_settings_t settings_{};
  Request request_;
  HeaderCollector headers_;
  size_t header_bytes_ = 0;
  Result failure_ = Result::Ok;
  bool pause_asked_ = false;
};

}  // namespace lg::http
