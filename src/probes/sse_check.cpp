#include "probes/sse_check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
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
  const std::string within = format_duration(spec.deadline);
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
  started_ = mono_seconds();

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
    finish(sse_closed_outcome(spec_, "the response body ended", *parser_));
  };
  h.on_error = [this](http::ClientError e) {
    attempt_ = nullptr;
    if (headers_seen_) {
      finish(sse_closed_outcome(spec_, e.message, *parser_));
      return;
    }
    finish(Outcome::failure(e.code, fmt::format("{}: {}", spec_.what, e.message)));
  };
  // Armed now, in the same loop turn as the runner's own timeout, so that a deadline shorter
  // than that timeout always fires first (the config requires it to be shorter).
  deadline_ = Timer::create(loop_, [this] { on_deadline(); });
  deadline_->start(spec_.deadline);
  attempt_ = http::HttpAttempt::start(loop_, std::move(req), std::move(h));
}

void SseCheck::on_headers(const http::ClientResponse& head) {
  headers_seen_ = true;
  status_ = head.status;
  if (const std::string* v = http::find_header(head.headers, "x-accel-buffering")) accel_buffering_ = *v;
  if (auto bad = judge_sse_headers(spec_, head)) finish(std::move(*bad));
}

void SseCheck::on_body(std::string_view chunk) {
  std::vector<SseEvent> events;
  parser_->feed(chunk, events);
  for (const auto& e : events) {
    if (is_done_marker(e)) {
      finish(sse_closed_outcome(spec_, "data: [DONE]", *parser_));
      return;
    }
    const double ms = (mono_seconds() - started_) * 1000.0;
    Outcome o = Outcome::success(fmt::format("{}: first event after {:.0f} ms", spec_.what, ms));
    o.http_status = status_;
    o.info["first_event_ms"] = fmt::format("{:.0f}", ms);
    if (!accel_buffering_.empty()) o.info["x_accel_buffering"] = accel_buffering_;
    finish(std::move(o));
    return;
  }
  if (!parser_->error().empty()) {
    finish(Outcome::failure("protocol", fmt::format("{}: invalid event stream: {}", spec_.what, parser_->error())));
  }
}

void SseCheck::on_deadline() {
  finish(sse_deadline_outcome(spec_, headers_seen_, *parser_));
}

void SseCheck::finish(Outcome o) {
  if (!done_) return;
  if (o.http_status == 0) o.http_status = status_;
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
