#include "probes/sse_check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <vector>

#include "core/clock.hpp"

namespace lg::probes {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// "text/event-stream; charset=utf-8" -> "text/event-stream"
std::string media_type(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  const auto b = t.find_first_not_of(" \t");
  const auto e = t.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : lower(t.substr(b, e - b + 1));
}

// What of the stream arrived before it stopped short, for reasons.
std::string seen(const SseParser& p) {
  if (p.bytes() == 0) return "no body byte";
  std::string s = fmt::format("{} body bytes", p.bytes());
  if (p.comments() > 0) s += fmt::format(", {} comment line{}", p.comments(), p.comments() == 1 ? "" : "s");
  if (p.partial()) s += ", an event without its closing blank line";
  return s;
}

}  // namespace

bool is_done_marker(const SseEvent& e) { return e.data == "[DONE]"; }

std::optional<double> sse_stamp(const SseEvent& e) {
  constexpr std::string_view kKey = "\"sent_after_ms\"";
  const std::string_view d = e.data;
  const size_t k = d.find(kKey);
  if (k == std::string_view::npos) return std::nullopt;
  size_t i = d.find_first_not_of(" \t", k + kKey.size());
  if (i == std::string_view::npos || d[i] != ':') return std::nullopt;
  i = d.find_first_not_of(" \t", i + 1);
  if (i == std::string_view::npos) return std::nullopt;
  double v = 0;
  const auto r = std::from_chars(d.data() + i, d.data() + d.size(), v);
  if (r.ec != std::errc() || !std::isfinite(v) || v < 0) return std::nullopt;
  return v;
}

Outcome judge_first_event(const SseCheckSpec& spec, const SseFirstEvent& first, const std::optional<std::string>& ended,
                          double end_ms) {
  Outcome o;
  if (first.sent_after_ms && first.at_ms - *first.sent_after_ms > kSseHoldToleranceMs) {
    o = Outcome::failure(
        "buffered", fmt::format("{}: the first event arrived after {:.0f} ms, but the stream sent it {:.0f} ms after "
                                "the request: {} held it about {:.0f} ms (it buffers the stream: set proxy_buffering "
                                "off, with proxy_http_version 1.1)",
                                spec.what, first.at_ms, *first.sent_after_ms, spec.via,
                                first.at_ms - *first.sent_after_ms));
  } else if (ended) {
    o = Outcome::failure(
        "buffered",
        fmt::format("{}: the first event arrived only together with the end of the stream ({}, {:.0f} ms after it): "
                    "{} is buffering the stream until it ends (proxy_buffering on, or an HTTP/1.0 upstream: set "
                    "proxy_buffering off, proxy_http_version 1.1 and proxy_set_header Connection \"\"), or the SSE "
                    "target ends at once (use a stream that stays open longer than --sse-deadline)",
                    spec.what, *ended, std::max(0.0, end_ms - first.at_ms), spec.via));
  } else {
    std::string sent;
    if (first.sent_after_ms) sent = fmt::format(" (sent {:.0f} ms after the request)", *first.sent_after_ms);
    o = Outcome::success(fmt::format("{}: first event after {:.0f} ms{}", spec.what, first.at_ms, sent));
  }
  o.facts.first_event_ms = first.at_ms;
  return o;
}

std::optional<Outcome> judge_sse_headers(const SseCheckSpec& spec, const http::ClientResponse& head) {
  const std::string* ct = http::find_header(head.headers, "content-type");
  const std::string type = ct ? media_type(*ct) : std::string();
  if (head.status == 200 && type == "text/event-stream") return std::nullopt;
  std::string got = fmt::format("HTTP {} {}", head.status, ct ? *ct : "without Content-Type");
  if (head.status >= 300 && head.status < 400) {
    const std::string* loc = http::find_header(head.headers, "location");
    got += fmt::format(" (redirect to {})", loc ? *loc : "?");
  }
  Outcome o = Outcome::failure("not_sse", fmt::format("{} answered {}, not 200 text/event-stream", spec.what, got));
  o.http_status = head.status;
  return o;
}

Outcome sse_deadline_outcome(const SseCheckSpec& spec, bool headers_seen, const SseParser& p) {
  const std::string within = core::format_duration(spec.deadline);
  if (!headers_seen) {
    return Outcome::failure(
        "buffered", fmt::format("{}: neither response headers nor an event arrived within {}: {} is buffering "
                                "(a buffering nginx holds even the headers until its buffer fills; set "
                                "proxy_buffering off), or the stream never started",
                                spec.what, within, spec.via));
  }
  if (p.bytes() == 0) {
    return Outcome::failure("buffered", fmt::format("{} answered text/event-stream but no event arrived within {}: "
                                                    "{} is buffering (set proxy_buffering off)",
                                                    spec.what, within, spec.via));
  }
  return Outcome::failure("no_event", fmt::format("{} answered text/event-stream and {} arrived, but no complete "
                                                  "event within {}: the stream sends no events",
                                                  spec.what, seen(p), within));
}

Outcome sse_closed_outcome(const SseCheckSpec& spec, const std::string& how, const SseParser& p) {
  return Outcome::failure("stream_closed",
                          fmt::format("{}: the stream ended ({}) before its first event ({})", spec.what, how, seen(p)));
}

void SseCheck::start(Done done) {
  cancel();
  done_ = std::move(done);
  headers_seen_ = false;
  status_ = 0;
  accel_buffering_.clear();
  parser_.emplace();
  first_.reset();
  started_ = core::mono_seconds();

  http::ClientRequest req;
  req.host = spec_.host;
  req.port = spec_.port;
  req.method = spec_.method;
  req.target = spec_.target;
  req.headers.emplace_back("Accept", "text/event-stream");
  if (!spec_.bearer_token.empty()) req.headers.emplace_back("Authorization", "Bearer " + spec_.bearer_token);
  req.headers.emplace_back("Cache-Control", "no-cache");
  if (!spec_.body.empty()) {
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = spec_.body;
  }
  http::HttpAttempt::Handlers h;
  h.on_headers = [this](const http::ClientResponse& head) { on_headers(head); };
  h.on_body = [this](std::string_view chunk) { on_body(chunk); };
  h.on_complete = [this](http::ClientResponse) {
    attempt_ = nullptr;
    on_end("the response body ended");
  };
  h.on_error = [this](http::ClientError e) {
    attempt_ = nullptr;
    if (headers_seen_) {
      on_end(e.message);
      return;
    }
    finish(Outcome::failure(e.code, fmt::format("{}: {}", spec_.what, e.message)));
  };
  // Armed now, in the same loop turn as the runner's own timeout, so that a deadline shorter
  // than that timeout always fires first (the config requires it to be shorter).
  deadline_ = core::Timer::create(loop_, [this] { on_deadline(); });
  deadline_->start(spec_.deadline);
  attempt_ = http::HttpAttempt::start(loop_, std::move(req), std::move(h));
}

void SseCheck::on_headers(const http::ClientResponse& head) {
  headers_seen_ = true;
  status_ = head.status;
  if (const std::string* v = http::find_header(head.headers, "x-accel-buffering")) accel_buffering_ = *v;
  if (auto bad = judge_sse_headers(spec_, head)) finish(std::move(*bad));
}

double SseCheck::elapsed_ms() const { return (core::mono_seconds() - started_) * 1000.0; }

void SseCheck::on_body(std::string_view chunk) {
  std::vector<SseEvent> events;
  parser_->feed(chunk, events);
  for (const auto& e : events) {
    if (is_done_marker(e)) {
      on_end("data: [DONE]");
      return;
    }
    if (!first_) {
      on_first_event(e);
      if (!done_) return;
    }
  }
  // After the first event only the stream's end matters: the verdict is the first event's.
  if (!first_ && !parser_->error().empty()) {
    finish(Outcome::failure("protocol", fmt::format("{}: invalid event stream: {}", spec_.what, parser_->error())));
  }
}

void SseCheck::on_first_event(const SseEvent& e) {
  first_ = SseFirstEvent{elapsed_ms(), sse_stamp(e)};
  Outcome held = judge_first_event(spec_, *first_, std::nullopt);
  if (!held.ok) {
    finish(std::move(held));
    return;
  }
  // The settle window: the stream must stay open this long after its first event, but the
  // verdict never waits past the deadline (the runner's timeout is only known to be longer).
  const double left = static_cast<double>(spec_.deadline.count()) - first_->at_ms;
  const auto window = std::min<double>(static_cast<double>(kSseSettle.count()), std::max(0.0, left));
  if (deadline_) deadline_->start(core::Millis{static_cast<int64_t>(window)});
}

void SseCheck::on_end(const std::string& how) {
  if (!first_) {
    finish(sse_closed_outcome(spec_, how, *parser_));
    return;
  }
  finish(judge_first_event(spec_, *first_, how, elapsed_ms()));
}

void SseCheck::on_deadline() {
  if (first_) {
    finish(judge_first_event(spec_, *first_, std::nullopt));  // open through the settle window
    return;
  }
  finish(sse_deadline_outcome(spec_, headers_seen_, *parser_));
}

void SseCheck::finish(Outcome o) {
  if (!done_) return;
  if (o.http_status == 0) o.http_status = status_;
  if (first_ && !accel_buffering_.empty()) o.facts.x_accel_buffering = accel_buffering_;
  auto done = std::move(done_);
  done_ = nullptr;
  cancel();  // closes the stream: the check needs one event, not the conversation
  done(std::move(o));
}

void SseCheck::cancel() {
  done_ = nullptr;
  if (attempt_) attempt_->cancel();  // from inside an attempt handler too: it stops parsing
  attempt_ = nullptr;
  if (deadline_) deadline_->close();
  deadline_ = nullptr;
}

}  // namespace lg::probes
