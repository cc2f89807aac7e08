#pragma once
// SseCheck: opens one Server-Sent Events stream and waits for its FIRST complete event, to
// prove that a proxy passes events as they come. A proxy that buffers (nginx with
// proxy_buffering on) answers 200 text/event-stream and then holds the events, or even the
// headers, until its buffer fills or the stream ends; a client of Letta sees a frozen chat.
//
// What is measured. A buffering proxy releases events only when its buffer fills or when the
// stream ends. Through it, a stream that ends within the deadline delivers its first event
// together with its end, in time, and a first-event deadline alone passes it. So the first
// event passes only if the stream is seen OPEN after it: the check keeps reading for a settle
// window (kSseSettle, cut at the deadline) and the stream's end (EOF, the end of the body, or
// `data: [DONE]`) arriving in the same read or within that window is `buffered`. A stream that
// really ends at once (all its events in one segment) looks the same from outside, and is the
// wrong target: an SSE target must stay open longer than the deadline (the stand-in's
// /_standin/sse does; a real Letta's message stream lasts as long as the reply is generated).
// Where the stream stamps its events (JSON field `sent_after_ms`: ms from the server reading
// the request to writing the event; the stand-in's /_standin/sse does), the first event must
// also arrive no more than kSseHoldTolerance later than the stream's own time for it: that
// catches a proxy that passes a long stream in bursts as its buffers fill.
//
// Verdicts (Outcome.reason_code):
//   ok             a complete event (not `data: [DONE]`) arrived before the deadline and the
//                  stream stayed open for the settle window after it; the stream is then closed
//                  (the client is cancelled). facts.first_event_ms is the time from the start
//                  of the attempt (connect included) to that event.
//   not_sse        the answer is not 200 with Content-Type text/event-stream (says what it was)
//   buffered       the deadline passed with no body byte (headers came and nothing after, or not
//                  even the headers: a buffering nginx holds those too); or the first event came
//                  only together with the end of the stream; or later than its stamp allows
//   no_event       bytes came (comments, or an event without its blank line) but no complete
//                  event: the proxy passes bytes, the stream sends no events
//   stream_closed  the stream ended (EOF, end of the chunked body, or `data: [DONE]`) before
//                  the first event
//   protocol       the stream broke the SSE framing limits (an event over 1 MiB)
//   refused, dns, reset, closed, ...  the connection failed (HttpAttempt's codes)
// Comments (`: keep-alive`) are not events (the SSE spec dispatches nothing for them), so they
// do not pass the check; they are counted in the reason of a failure. Letta's own keep-alive
// is a real `data:` event ({"message_type":"ping"}) and does pass it.
//
// Lifetime: the HttpAttempt and the deadline Timer free themselves; after cancel() (or the
// destructor) nothing is called back, so the owner may go away right after cancel().
#include <uv.h>

#include <functional>
#include <optional>
#include <string>

#include "core/duration.hpp"
#include "core/timer.hpp"
#include "http/http_attempt.hpp"
#include "probes/outcome.hpp"
#include "probes/sse_parser.hpp"

namespace lg::probes {

struct SseCheckSpec {
  std::string host;
  uint16_t port = 80;
  std::string method = "GET";
  std::string target = "/";   // path and query
  std::string body;           // sent with Content-Type application/json when not empty
  std::string bearer_token;   // Authorization: Bearer, when set (a secured Letta behind the proxy)
  core::Millis deadline{5000};  // the first event must come within this, from start()
  std::string url;            // the stream's URL as shown to people (password redacted)
  std::string what;           // "nginx SSE GET http://letta-nginx:8284/..." for reasons
  std::string via = "the proxy";  // who is blamed for buffering: "nginx"
};

// How long the stream must stay open after its first event (cut at the deadline).
inline constexpr core::Millis kSseSettle{200};
// How much later than the stream's own stamp the first event may arrive (transit, connect).
inline constexpr double kSseHoldToleranceMs = 500;

// The first event as it arrived.
struct SseFirstEvent {
  double at_ms = 0;                      // since the start of the attempt
  std::optional<double> sent_after_ms;   // the stream's own stamp for it, if it carries one
};

// Pure verdicts, unit-tested without sockets.
// The headers of the stream: nullopt when they are 200 text/event-stream, else `not_sse`.
std::optional<Outcome> judge_sse_headers(const SseCheckSpec& spec, const http::ClientResponse& head);
// The deadline passed without an event; `headers_seen` says whether the headers came.
Outcome sse_deadline_outcome(const SseCheckSpec& spec, bool headers_seen, const SseParser& parser);
// The stream ended before its first event.
Outcome sse_closed_outcome(const SseCheckSpec& spec, const std::string& how, const SseParser& parser);
// The first event: `ended` says how the stream ended within the settle window (nullopt: it
// stayed open), `end_ms` when (since the start of the attempt).
Outcome judge_first_event(const SseCheckSpec& spec, const SseFirstEvent& first, const std::optional<std::string>& ended,
                          double end_ms = 0);
// The `sent_after_ms` stamp of an event's JSON data, if it has one.
std::optional<double> sse_stamp(const SseEvent& e);
// `data: [DONE]` is Letta's end-of-stream marker, not an event.
bool is_done_marker(const SseEvent& e);

class SseCheck {
 public:
  using Done = std::function<void(Outcome)>;
  SseCheck(uv_loop_t* loop, SseCheckSpec spec) : loop_(loop), spec_(std::move(spec)) {}
  ~SseCheck() { cancel(); }
  SseCheck(const SseCheck&) = delete;
  SseCheck& operator=(const SseCheck&) = delete;

  // Calls `done` exactly once, later (never from inside start()), unless cancel() comes first.
  void start(Done done);
  void cancel();
  const SseCheckSpec& spec() const { return spec_; }

 private:
  void on_headers(const http::ClientResponse& head);
  void on_body(std::string_view chunk);
  void on_deadline();
  void on_first_event(const SseEvent& e);
  void on_end(const std::string& how);  // the stream ended: before or after its first event
  double elapsed_ms() const;  // since start()
  void finish(Outcome o);  // stops the client and the timer, then calls done_

  uv_loop_t* loop_;
  SseCheckSpec spec_;
  http::HttpAttempt* attempt_ = nullptr;  // frees itself; dropped once it is done or cancelled
  core::Timer* deadline_ = nullptr;       // frees itself after close()
  std::optional<SseParser> parser_;
  bool headers_seen_ = false;
  int status_ = 0;
  std::optional<SseFirstEvent> first_;  // set once the first event came: the settle window runs
  std::string accel_buffering_;         // the X-Accel-Buffering header, if any
  double started_ = 0;
  Done done_;
};

}  // namespace lg::probes
