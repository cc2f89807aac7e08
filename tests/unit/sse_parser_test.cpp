// The SSE framing parser: socket-free, any chunking.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "probes/sse_parser.hpp"

using lg::probes::SseEvent;
using lg::probes::SseParser;
using namespace std::string_literals;

namespace {

std::vector<SseEvent> parse_all(const std::string& stream, size_t chunk = 0) {
  SseParser p;
  std::vector<SseEvent> out;
  if (chunk == 0) {
    p.feed(stream, out);
  } else {
    for (size_t i = 0; i < stream.size(); i += chunk) p.feed(std::string_view(stream).substr(i, chunk), out);
  }
  return out;
}

// The same events whatever the chunking, down to one byte at a time.
std::vector<SseEvent> parse_every_way(const std::string& stream) {
  auto whole = parse_all(stream);
  for (size_t chunk : {1, 2, 3, 5, 7, 64}) {
    auto split = parse_all(stream, chunk);
    INFO("chunk size " << chunk);
    REQUIRE(split.size() == whole.size());
    for (size_t i = 0; i < whole.size(); ++i) {
      CHECK(split[i].data == whole[i].data);
      CHECK(split[i].type == whole[i].type);
      CHECK(split[i].id == whole[i].id);
    }
  }
  return whole;
}

}  // namespace

TEST_CASE("sse: Letta's frames, ending with [DONE]", "[unit][sse]") {
  const std::string stream =
      "data: {\"message_type\":\"reasoning_message\",\"reasoning\":\"hm\"}\n\n"
      "data: {\"message_type\":\"assistant_message\",\"content\":\"hi\"}\n\n"
      "data: [DONE]\n\n";
  auto ev = parse_every_way(stream);
  REQUIRE(ev.size() == 3);
  CHECK(ev[0].type == "message");
  CHECK(ev[0].data == "{\"message_type\":\"reasoning_message\",\"reasoning\":\"hm\"}");
  CHECK(ev[1].data == "{\"message_type\":\"assistant_message\",\"content\":\"hi\"}");
  CHECK(ev[2].data == "[DONE]");
}

TEST_CASE("sse: an event is complete only at its blank line", "[unit][sse]") {
  SseParser p;
  std::vector<SseEvent> out;
  CHECK(p.feed("data: hel", out) == 0);
  CHECK(p.partial());
  CHECK(p.feed("lo\n", out) == 0);
  CHECK(p.partial());
  CHECK(p.feed("\n", out) == 1);
  CHECK_FALSE(p.partial());
  REQUIRE(out.size() == 1);
  CHECK(out[0].data == "hello");
  CHECK(p.events() == 1);
  CHECK(p.bytes() == 13);
}

TEST_CASE("sse: CRLF, lone CR and LF line ends, CRLF split across chunks", "[unit][sse]") {
  auto crlf = parse_every_way("data: a\r\n\r\ndata: b\r\n\r\n");
  REQUIRE(crlf.size() == 2);
  CHECK(crlf[0].data == "a");
  CHECK(crlf[1].data == "b");

  auto cr = parse_every_way("data: a\rdata: b\r\r");
  REQUIRE(cr.size() == 1);
  CHECK(cr[0].data == "a\nb");

  auto mixed = parse_every_way("data: a\r\ndata: b\n\r\ndata: c\r\r");
  REQUIRE(mixed.size() == 2);
  CHECK(mixed[0].data == "a\nb");
  CHECK(mixed[1].data == "c");

  // "\r" at the end of one chunk and "\n" at the start of the next are ONE line end: not a
  // blank line that would dispatch early.
  SseParser p;
  std::vector<SseEvent> out;
  p.feed("data: x\r", out);
  p.feed("\ndata: y\r", out);
  CHECK(out.empty());
  p.feed("\n\r\n", out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].data == "x\ny");
}

TEST_CASE("sse: comments are counted and dispatch nothing", "[unit][sse]") {
  SseParser p;
  std::vector<SseEvent> out;
  p.feed(": keep-alive\n\n:\n\n: another\n", out);
  CHECK(out.empty());
  CHECK(p.comments() == 3);
  CHECK_FALSE(p.partial());  // a comment is no part of an event
  p.feed("data: real\n: inside an event\n\n", out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].data == "real");
  CHECK(p.comments() == 4);
}

TEST_CASE("sse: multi-line data, event type, id, retry, field forms", "[unit][sse]") {
  auto ev = parse_every_way(
      "event: update\nid: 7\nretry: 1500\ndata: line one\ndata:line two\ndata\ndata:  two spaces\n\n"
      "data: next\n\n");
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].type == "update");
  CHECK(ev[0].id == "7");
  CHECK(ev[0].data == "line one\nline two\n\n two spaces");  // only one space is dropped
  CHECK(ev[1].type == "message");  // the type does not carry over
  CHECK(ev[1].id == "7");          // the last event id does

  SseParser p;
  std::vector<SseEvent> out;
  p.feed("retry: 2500\nretry: soon\nid: a\0b\nunknown: x\ndata: d\n\n"s, out);
  CHECK(p.retry_ms() == 2500u);
  CHECK(p.last_event_id().empty());  // an id with NUL is ignored
  REQUIRE(out.size() == 1);
  CHECK(out[0].data == "d");
}

TEST_CASE("sse: blocks without data dispatch nothing but empty data does", "[unit][sse]") {
  auto ev = parse_every_way("event: typed-but-empty\n\nid: 3\n\ndata:\n\ndata\n\n");
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].data.empty());
  CHECK(ev[0].type == "message");  // the type of the data-less block was forgotten
  CHECK(ev[0].id == "3");
  CHECK(ev[1].data.empty());
}

TEST_CASE("sse: a BOM at the start is skipped, also when split", "[unit][sse]") {
  auto ev = parse_every_way("\xEF\xBB\xBF" "data: after bom\n\n");
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].data == "after bom");
  // Only at the start: later it is part of the field name, an unknown field.
  auto later = parse_all("data: a\n\n\xEF\xBB\xBF" "data: b\n\n");
  REQUIRE(later.size() == 1);
  CHECK(later[0].data == "a");
  // Bytes that only begin like a BOM are kept.
  auto almost = parse_all("\xEF" "data: x\n\n", 1);
  CHECK(almost.empty());  // "\xEF" "data" is an unknown field name
  auto plain = parse_all("d", 1);
  CHECK(plain.empty());
}

TEST_CASE("sse: an incomplete event at the end is never dispatched", "[unit][sse]") {
  SseParser p;
  std::vector<SseEvent> out;
  p.feed("data: one\n\ndata: two\n", out);
  REQUIRE(out.size() == 1);
  CHECK(p.partial());
}

TEST_CASE("sse: an event over the limit fails the parser and stops it", "[unit][sse]") {
  SseParser p(64);
  std::vector<SseEvent> out;
  p.feed("data: small\n\n", out);
  REQUIRE(out.size() == 1);
  const std::string big(100, 'x');
  p.feed("data: " + big, out);
  CHECK_FALSE(p.error().empty());
  p.feed("\n\ndata: after\n\n", out);
  CHECK(out.size() == 1);  // nothing after the failure

  // The limit counts the data lines of one event together.
  SseParser q(64);
  out.clear();
  for (int i = 0; i < 10 && q.error().empty(); ++i) q.feed("data: 0123456789\n", out);
  CHECK_FALSE(q.error().empty());
  CHECK(out.empty());
}
