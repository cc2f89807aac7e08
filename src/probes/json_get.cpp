#include "probes/json_get.hpp"

#include <algorithm>

namespace lg::probes {

http::ClientRequest json_request(const JsonGetTarget& t) {
  http::ClientRequest req;
  req.host = t.host;
  req.port = t.port;
  req.method = t.method;
  req.target = t.path;
  req.host_header = t.host_header;
  req.headers.emplace_back("Accept", "application/json");
  if (!t.bearer_token.empty()) req.headers.emplace_back("Authorization", "Bearer " + t.bearer_token);
  return req;
}

std::string body_snippet(const std::string& body) {
  std::string s = body.substr(0, 60);
  std::replace_if(s.begin(), s.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return body.size() > 60 ? s + "..." : s;
}

void JsonGet::start(const JsonGetTarget& target, OnResponse on_response, OnError on_error) {
  http::HttpAttempt::Handlers h;
  h.on_complete = [this, on_response = std::move(on_response)](http::ClientResponse r) {
    attempt_ = nullptr;  // the attempt frees itself after this handler
    on_response(r);
  };
  h.on_error = [this, on_error = std::move(on_error)](http::ClientError e) {
    attempt_ = nullptr;
    on_error(e);
  };
  attempt_ = http::HttpAttempt::start(loop_, json_request(target), std::move(h));
}

void JsonGet::cancel() {
  if (attempt_) attempt_->cancel();
  attempt_ = nullptr;
}

}  // namespace lg::probes
