#pragma once
// ResponseParser: one HTTP/1.x response from a byte stream, on llhttp, with limits on what a
// hostile or broken upstream can make us hold (header bytes, an accumulated body). Socket-free,
// so it is unit-tested and fuzzed directly; HttpAttempt feeds it what it reads.
//
// Header names are lower-cased. A body is either accumulated into response().body (up to
// max_body_bytes) or, when on_body is set, handed out chunk by chunk and never stored. The
// callbacks return false to stop parsing (the caller lost interest): feed() then says Stopped.
#include <llhttp.h>

#include <functional>
#include <string>
#include <string_view>

#include "http/header_collector.hpp"
#include "http/http_message.hpp"

namespace lg::http {

struct ClientResponse {
  int status = 0;
  Headers headers;
  std::string body;
};

class ResponseParser {
 public:
  struct Limits {
    size_t max_header_bytes = 64 * 1024;  // status line + header names and values
    size_t max_body_bytes = 1 << 20;      // accumulated bodies only
  };
  enum class Result { Ok, Complete, Stopped, HeaderTooLarge, BodyTooLarge, Malformed };
  struct Callbacks {
    std::function<bool(const ClientResponse& head)> on_headers;  // optional
    std::function<bool(std::string_view chunk)> on_body;         // optional: streams the body
  };

  // `head_request`: the response to a HEAD has no body whatever its headers say.
  ResponseParser(Limits limits, bool head_request, Callbacks callbacks = {});
  ResponseParser(const ResponseParser&) = delete;
  ResponseParser& operator=(const ResponseParser&) = delete;

  // Parses what arrived: Ok (more is needed), Complete (the response ended; response() holds
  // it), or why it stopped. After anything but Ok the parser must not be fed again.
  Result feed(const char* data, size_t len);
  // The connection ended (EOF): Complete when that ends a response without a length.
  Result finish();
  ClientResponse& response() { return response_; }
  bool headers_done() const { return headers_done_; }
  // Why the last feed() or finish() failed, for people.
  std::string error_reason() const;

 private:
  Result result_of(llhttp_errno_t err) const;
  bool count_header_bytes(size_t len);
  static int on_header_field(llhttp_t* p, const char* at, size_t len);
  static int on_header_value(llhttp_t* p, const char* at, size_t len);
  static int on_status(llhttp_t* p, const char* at, size_t len);
  static int on_headers_complete(llhttp_t* p);
  static int on_body(llhttp_t* p, const char* at, size_t len);
  static int on_message_complete(llhttp_t* p);

  Limits limits_;
  bool head_request_;
  Callbacks callbacks_;
  llhttp_t parser_{};
  llhttp_settings_t settings_{};
  ClientResponse response_;
  HeaderCollector headers_;
  bool headers_done_ = false;
  bool complete_ = false;
  bool stopped_ = false;
  size_t header_bytes_ = 0;
  Result failure_ = Result::Ok;
};

}  // namespace lg::http
