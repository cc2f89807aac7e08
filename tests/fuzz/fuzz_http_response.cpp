// The probes' HTTP response path: bytes from an upstream (Letta, nginx, anything at the other
// end of --letta-url) in any split through ResponseParser, and every complete response judged
// by the Letta health check and by a generic check with a body substring and a JSON field.
#include <cstddef>
#include <cstdint>
#include <string>

#include "http/response_parser.hpp"
#include "probes/http_check.hpp"

namespace {

lg::probes::HttpCheckSpec letta_spec() {
  lg::probes::HttpCheckSpec s;
  s.path = "/v1/health/";
  s.expect_json = "status=ok";
  s.what = "Letta GET /v1/health/";
  return s;
}

lg::probes::HttpCheckSpec generic_spec() {
  lg::probes::HttpCheckSpec s;
  s.expect_status = {200, 204, 301};
  s.expect_body = "healthy";
  s.expect_json = "state=ready";
  s.what = "GET /";
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // Byte 0: HEAD or not, and streamed or accumulated body; byte 1: where TCP splits the bytes.
  const bool head = data[0] & 1;
  const bool streamed = data[0] & 2;
  const char* bytes = reinterpret_cast<const char*>(data + 2);
  const size_t n = size - 2;
  const size_t cut = n ? data[1] % (n + 1) : 0;

  size_t streamed_bytes = 0;
  lg::http::ResponseParser::Callbacks callbacks;
  if (streamed) {
    callbacks.on_body = [&](std::string_view chunk) {
      streamed_bytes += chunk.size();
      return streamed_bytes < 4096;
    };
  }
  lg::http::ResponseParser parser({2048, 4096}, head, callbacks);
  auto r = parser.feed(bytes, cut);
  if (r == lg::http::ResponseParser::Result::Ok) r = parser.feed(bytes + cut, n - cut);
  if (r == lg::http::ResponseParser::Result::Ok) r = parser.finish();
  (void)parser.error_reason();
  if (r == lg::http::ResponseParser::Result::Complete) {
    static const auto letta = letta_spec();
    static const auto generic = generic_spec();
    (void)lg::probes::judge_http_response(letta, parser.response());
    (void)lg::probes::judge_http_response(generic, parser.response());
  }
  return 0;
}
