#pragma once
// JsonGet: the request part that HttpCheck and AgentCountCheck share. It builds an HTTP request
// asking for JSON (Accept: application/json, Authorization: Bearer when a token is set), keeps
// the one attempt in flight and cancels it when asked or when its owner goes. Each check judges
// the answer itself.
//
// Contract: start() calls exactly one of on_response / on_error, later (never from inside
// start()), unless cancel() comes first. The attempt is forgotten before the handler runs, so a
// handler may start again, cancel, or destroy the owner.
#include <uv.h>

#include <functional>
#include <string>

#include "http/http_attempt.hpp"

namespace lg::probes {

// Where a check asks. Its spec is one of these plus what judges the answer.
struct JsonGetTarget {
  std::string host;
  uint16_t port = 80;
  std::string method = "GET";  // --letta-method may ask another
  std::string path = "/";
  std::string host_header;
  std::string bearer_token;  // never printed
};

http::ClientRequest json_request(const JsonGetTarget& target);

// A body's first 60 characters on one line, for a reason that quotes it.
std::string body_snippet(const std::string& body);

class JsonGet {
 public:
  using OnResponse = std::function<void(const http::ClientResponse&)>;
  using OnError = std::function<void(const http::ClientError&)>;

  explicit JsonGet(uv_loop_t* loop) : loop_(loop) {}
  ~JsonGet() { cancel(); }
  JsonGet(const JsonGet&) = delete;
  JsonGet& operator=(const JsonGet&) = delete;

  void start(const JsonGetTarget& target, OnResponse on_response, OnError on_error);
  void cancel();

 private:
  uv_loop_t* loop_;
  http::HttpAttempt* attempt_ = nullptr;
};

}  // namespace lg::probes
