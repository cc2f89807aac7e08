#pragma once
// HttpCheck: one HTTP request judged as a health check: accepted status codes, a redirect
// reported as such (Letta's bare /v1/health answers 307, which curl -f takes for health), a
// body substring, a JSON field, and a latency above which the answer counts as degraded.
// Shared by the Letta probe and the nginx probe.
#include <uv.h>

#include <functional>
#include <string>
#include <vector>

#include "core/duration.hpp"
#include "http/http_attempt.hpp"
#include "probes/outcome.hpp"

namespace lg::probes {

struct HttpCheckSpec {
  std::string host;
  uint16_t port = 80;
  std::string method = "GET";
  std::string path = "/";
  std::string host_header;
  std::string bearer_token;   // Authorization: Bearer, when set
  std::vector<int> expect_status{200};
  std::string expect_body;    // substring
  std::string expect_json;    // FIELD=VALUE (top-level field)
  Millis degraded_after{0};
  std::string what;           // "Letta /v1/health/" for reasons
};

// Judges a complete response against the spec (pure: tested without sockets). Fills
// http_status, facts.version when the JSON has one, and the reason.
Outcome judge_http_response(const HttpCheckSpec& spec, const http::ClientResponse& response);

class HttpCheck {
 public:
  using Done = std::function<void(Outcome)>;
  HttpCheck(uv_loop_t* loop, HttpCheckSpec spec) : loop_(loop), spec_(std::move(spec)) {}
  ~HttpCheck() { cancel(); }
  void start(Done done);
  void cancel();
  const HttpCheckSpec& spec() const { return spec_; }

 private:
  uv_loop_t* loop_;
  HttpCheckSpec spec_;
  http::HttpAttempt* attempt_ = nullptr;
  double started_ = 0;
};

}  // namespace lg::probes
