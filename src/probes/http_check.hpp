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
#include "probes/json_get.hpp"
#include "probes/outcome.hpp"

namespace lg::probes {

// Where to ask (host, port, method, path, Host header, bearer token), and what a good answer is.
struct HttpCheckSpec : JsonGetTarget {
  std::vector<int> expect_status{200};
  std::string expect_body;    // substring
  std::string expect_json;    // FIELD=VALUE (top-level field)
  core::Millis degraded_after{0};
  std::string what;           // "Letta /v1/health/" for reasons
};

// Judges a complete response against the spec (pure: tested without sockets). Fills
// http_status, facts.version when the JSON has one, and the reason.
Outcome judge_http_response(const HttpCheckSpec& spec, const http::ClientResponse& response);

class HttpCheck {
 public:
  using Done = std::function<void(Outcome)>;
  HttpCheck(uv_loop_t* loop, HttpCheckSpec spec) : spec_(std::move(spec)), get_(loop) {}
  void start(Done done);
  void cancel() { get_.cancel(); }
  const HttpCheckSpec& spec() const { return spec_; }

 private:
  void judge(const http::ClientResponse& response, const Done& done) const;

  HttpCheckSpec spec_;
  JsonGet get_;
  double started_ = 0;
};

}  // namespace lg::probes
