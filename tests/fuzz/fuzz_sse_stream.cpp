// The SSE check's stream handling: an event stream in any split through SseParser (with a small
// event limit so the limit path is reached), and the verdicts built from what it saw: the
// headers' judgement, the deadline and the early-close outcomes, and the first event's
// (its `sent_after_ms` stamp read from whatever data the stream sent).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "http/response_parser.hpp"
#include "probes/sse_check.hpp"
#include "probes/sse_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const char* bytes = reinterpret_cast<const char*>(data + 1);
  const size_t n = size - 1;
  // Byte 0 picks the chunk size the stream arrives in (1..64 bytes, or all at once).
  const size_t step = data[0] == 0 ? (n ? n : 1) : 1 + data[0] % 64;

  lg::probes::SseParser parser(512);
  std::vector<lg::probes::SseEvent> events;
  for (size_t at = 0; at < n; at += step) {
    parser.feed(std::string_view(bytes + at, std::min(step, n - at)), events);
    if (!parser.error().empty()) break;
  }
  for (const auto& e : events) (void)lg::probes::is_done_marker(e);
  std::optional<double> stamp;
  for (const auto& e : events) stamp = lg::probes::sse_stamp(e);

  lg::probes::SseCheckSpec spec;
  spec.what = "nginx SSE GET http://letta-nginx:8284/stream";
  spec.via = "nginx";
  lg::http::ClientResponse head;
  head.status = 200;
  // The first line of the input doubles as a Content-Type header value.
  std::string first(bytes, n);
  head.headers.emplace_back("content-type", first.substr(0, first.find('\n')));
  (void)lg::probes::judge_sse_headers(spec, head);
  (void)lg::probes::sse_deadline_outcome(spec, data[0] & 1, parser);
  (void)lg::probes::sse_closed_outcome(spec, "EOF", parser);
  const lg::probes::SseFirstEvent first_event{static_cast<double>(n), stamp};
  (void)lg::probes::judge_first_event(spec, first_event, std::nullopt);
  (void)lg::probes::judge_first_event(spec, first_event, std::string("EOF"), static_cast<double>(size));
  return 0;
}
