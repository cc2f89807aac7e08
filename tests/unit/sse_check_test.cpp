// The SSE check's verdicts and the nginx timeout rule, without sockets.
#include <catch2/catch.hpp>
#include <vector>

#include "config/config.hpp"
#include "probes/sse_check.hpp"

using namespace lg::probes;

namespace {

SseCheckSpec spec() {
  SseCheckSpec s;
  s.what = "nginx SSE GET http://127.0.0.1:8284/stream";
  s.via = "nginx";
  s.deadline = lg::core::Millis{5000};
  return s;
}

lg::http::ClientResponse head(int status, const char* content_type) {
  lg::http::ClientResponse r;
  r.status = status;
  if (content_type) r.headers.emplace_back("content-type", content_type);
  return r;
}

}  // namespace

TEST_CASE("sse check: 200 text/event-stream passes the headers, with parameters and any case", "[unit][sse]") {
  CHECK_FALSE(judge_sse_headers(spec(), head(200, "text/event-stream")));
  CHECK_FALSE(judge_sse_headers(spec(), head(200, "text/event-stream; charset=utf-8")));
  CHECK_FALSE(judge_sse_headers(spec(), head(200, " Text/Event-Stream ;charset=utf-8")));
}

TEST_CASE("sse check: anything else is not_sse, saying what came", "[unit][sse]") {
  auto json = judge_sse_headers(spec(), head(200, "application/json"));
  REQUIRE(json);
  CHECK(json->reason_code == "not_sse");
  CHECK(json->reason.find("application/json") != std::string::npos);
  CHECK(json->reason.find("http://127.0.0.1:8284/stream") != std::string::npos);

  auto missing = judge_sse_headers(spec(), head(200, nullptr));
  REQUIRE(missing);
  CHECK(missing->reason.find("without Content-Type") != std::string::npos);

  auto r404 = judge_sse_headers(spec(), head(404, "application/json"));
  REQUIRE(r404);
  CHECK(r404->reason_code == "not_sse");
  CHECK(r404->http_status == 404);
  CHECK(r404->reason.find("HTTP 404") != std::string::npos);

  auto redirect = head(307, nullptr);
  redirect.headers.emplace_back("location", "http://x/stream/");
  auto r307 = judge_sse_headers(spec(), redirect);
  REQUIRE(r307);
  CHECK(r307->reason.find("redirect to http://x/stream/") != std::string::npos);
}

TEST_CASE("sse check: the deadline verdicts", "[unit][sse]") {
  SseParser empty;
  auto no_headers = sse_deadline_outcome(spec(), false, empty);
  CHECK(no_headers.reason_code == "buffered");
  CHECK(no_headers.reason.find("neither response headers nor an event arrived within 5s") != std::string::npos);

  auto headers_only = sse_deadline_outcome(spec(), true, empty);
  CHECK(headers_only.reason_code == "buffered");
  CHECK(headers_only.reason ==
        "nginx SSE GET http://127.0.0.1:8284/stream answered text/event-stream but no event arrived within 5s: "
        "nginx is buffering (set proxy_buffering off)");

  SseParser comments;
  std::vector<SseEvent> out;
  comments.feed(": ping\n\n: ping\n\ndata: unfinished", out);
  auto no_event = sse_deadline_outcome(spec(), true, comments);
  CHECK(no_event.reason_code == "no_event");
  CHECK(no_event.reason.find("2 comment lines") != std::string::npos);
  CHECK(no_event.reason.find("without its closing blank line") != std::string::npos);
}

TEST_CASE("sse check: [DONE] is the end marker, not an event", "[unit][sse]") {
  SseEvent done;
  done.data = "[DONE]";
  CHECK(is_done_marker(done));
  SseEvent ping;
  ping.data = R"({"message_type":"ping"})";
  CHECK_FALSE(is_done_marker(ping));
  SseParser p;
  auto closed = sse_closed_outcome(spec(), "data: [DONE]", p);
  CHECK(closed.reason_code == "stream_closed");
  CHECK(closed.reason.find("data: [DONE]") != std::string::npos);
}

TEST_CASE("sse check: the first event passes only while the stream stays open", "[unit][sse]") {
  SseFirstEvent first{12, std::nullopt};
  auto open = judge_first_event(spec(), first, std::nullopt);
  CHECK(open.ok);
  CHECK(open.reason == "nginx SSE GET http://127.0.0.1:8284/stream: first event after 12 ms");
  CHECK(lg::probes::fact_text(open.facts.first_event_ms.value()) == "12");

  // A buffering proxy releases a short stream at its end: the first event and the end together.
  for (const char* how : {"data: [DONE]", "the response body ended", "connection closed by the server"}) {
    auto ended = judge_first_event(spec(), SseFirstEvent{405, std::nullopt}, std::string(how), 405.3);
    INFO(ended.reason);
    CHECK_FALSE(ended.ok);
    CHECK(ended.reason_code == "buffered");
    CHECK(ended.reason.find("the first event arrived only together with the end of the stream (" + std::string(how) +
                            ", 0 ms after it): nginx is buffering") != std::string::npos);
    CHECK(ended.reason.find("proxy_buffering off, proxy_http_version 1.1") != std::string::npos);
    CHECK(ended.reason.find("stays open longer than --sse-deadline") != std::string::npos);
    CHECK(lg::probes::fact_text(ended.facts.first_event_ms.value()) == "405");
  }
}

TEST_CASE("sse check: a stamped first event may not arrive much later than the stream sent it", "[unit][sse]") {
  auto in_time = judge_first_event(spec(), SseFirstEvent{480, 2.0}, std::nullopt);
  CHECK(in_time.ok);  // 478 ms of transit is within the tolerance
  CHECK(in_time.reason.find("first event after 480 ms (sent 2 ms after the request)") != std::string::npos);

  auto held = judge_first_event(spec(), SseFirstEvent{1041, 1.5}, std::nullopt);
  CHECK(held.reason_code == "buffered");
  CHECK(held.reason == "nginx SSE GET http://127.0.0.1:8284/stream: the first event arrived after 1041 ms, but the "
                       "stream sent it 2 ms after the request: nginx held it about 1040 ms (it buffers the stream: set "
                       "proxy_buffering off, with proxy_http_version 1.1)");
  // The hold is the more precise finding: it wins over the end of the stream.
  auto both = judge_first_event(spec(), SseFirstEvent{1041, 1.5}, std::string("data: [DONE]"), 1042);
  CHECK(both.reason.find("held it about") != std::string::npos);
}

TEST_CASE("sse check: the stamp is the event's sent_after_ms, when it is a number", "[unit][sse]") {
  auto stamp = [](const char* data) {
    SseEvent e;
    e.data = data;
    return sse_stamp(e);
  };
  CHECK(stamp(R"({"message_type":"ping","sent_after_ms":12.5})") == Approx(12.5));
  CHECK(stamp(R"({"sent_after_ms" : 0, "x":1})") == Approx(0));
  CHECK_FALSE(stamp(R"({"message_type":"ping","date":"2026-12-04T21:00:00Z"})"));  // Letta's own frames: none
  CHECK_FALSE(stamp(R"({"sent_after_ms":"12"})"));
  CHECK_FALSE(stamp(R"({"sent_after_ms":-3})"));
  CHECK_FALSE(stamp(R"({"sent_after_ms")"));
  CHECK_FALSE(stamp("[DONE]"));
}

TEST_CASE("config: the nginx timeout must exceed the SSE deadline when the SSE check is on", "[unit][config][sse]") {
  auto none = [](const char*) -> const char* { return nullptr; };
  // Defaults (timeout 2s, interval 5s, deadline 5s) with an SSE URL: the nginx timeout follows
  // the deadline and the interval grows to hold it.
  auto r = lg::config::parse_config({"--sse-url", "/v1/agents/agent-1/messages/stream"}, none);
  REQUIRE(r.config);
  CHECK(r.config->nginx.schedule.timeout.count() == 6000);
  CHECK(r.config->nginx.schedule.interval.count() == 6000);
  CHECK(r.config->letta.schedule.timeout.count() == 2000);  // only nginx's
  auto longer = lg::config::parse_config({"--sse-url", "/s", "--sse-deadline", "3s", "--nginx-interval", "30s"}, none);
  REQUIRE(longer.config);
  CHECK(longer.config->nginx.schedule.timeout.count() == 4000);
  CHECK(longer.config->nginx.schedule.interval.count() == 30000);

  // A timeout given too short: an error naming --nginx-timeout, with a working example.
  auto given = lg::config::parse_config({"--sse-url", "/s", "--nginx-timeout", "2s"}, none);
  REQUIRE(given.error);
  CHECK(given.error->setting == "--nginx-timeout (LETTAGATE_NGINX_TIMEOUT)");
  CHECK(given.error->message.find("--sse-deadline 5s") != std::string::npos);
  CHECK(given.error->message.find("--nginx-timeout 6s --nginx-interval 6s") != std::string::npos);

  // Equal is not enough: the runner's cut would win the race.
  auto equal = lg::config::parse_config({"--sse-url", "/s", "--nginx-timeout", "5s", "--nginx-interval", "10s"}, none);
  REQUIRE(equal.error);
  CHECK(equal.error->setting == "--nginx-timeout (LETTAGATE_NGINX_TIMEOUT)");

  auto ok = lg::config::parse_config({"--sse-url", "/s", "--nginx-timeout", "6s", "--nginx-interval", "10s"}, none);
  REQUIRE(ok.config);
  CHECK(ok.config->nginx.schedule.timeout.count() == 6000);

  auto shorter = lg::config::parse_config({"--sse-url", "/s", "--sse-deadline", "1s"}, none);
  CHECK(shorter.config);

  // No SSE check, no constraint.
  CHECK(lg::config::parse_config({}, none).config);
}
