#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "http/response_parser.hpp"

using lg::http::ResponseParser;
using R = ResponseParser::Result;

namespace {

// Feeds `wire` in pieces of `step` bytes; returns the first result that is not Ok (or Ok).
R feed_in_steps(ResponseParser& p, const std::string& wire, size_t step) {
  for (size_t at = 0; at < wire.size(); at += step) {
    auto r = p.feed(wire.data() + at, std::min(step, wire.size() - at));
    if (r != R::Ok) return r;
  }
  return R::Ok;
}

}  // namespace

TEST_CASE("responses split anywhere parse the same", "[unit][http]") {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Multi: a\r\nContent-Length: 36\r\n\r\n"
      R"({"version":"0.16.7","status":"ok"}  )";
  for (size_t step = 1; step <= wire.size(); ++step) {
    ResponseParser p({}, false);
    REQUIRE(feed_in_steps(p, wire, step) == R::Complete);
    CHECK(p.response().status == 200);
    CHECK(*lg::http::find_header(p.response().headers, "content-type") == "application/json");
    CHECK(p.response().headers[0].first == "content-type");  // names lower-cased
    CHECK(p.response().body == R"({"version":"0.16.7","status":"ok"}  )");
  }
}

TEST_CASE("chunked and EOF-delimited bodies", "[unit][http]") {
  SECTION("chunked") {
    ResponseParser p({}, false);
    std::string wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    CHECK(feed_in_steps(p, wire, 3) == R::Complete);
    CHECK(p.response().body == "abcde");
  }
  SECTION("no length: the body ends at EOF, and only finish() completes it") {
    ResponseParser p({}, false);
    std::string wire = "HTTP/1.1 200 OK\r\n\r\nnginx-sse-proxy-healthy\n";
    CHECK(feed_in_steps(p, wire, 5) == R::Ok);
    CHECK(p.finish() == R::Complete);
    CHECK(p.response().body == "nginx-sse-proxy-healthy\n");
  }
  SECTION("EOF inside a Content-Length body is not a response") {
    ResponseParser p({}, false);
    CHECK(p.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 42) == R::Ok);
    CHECK(p.headers_done());
    CHECK(p.finish() == R::Malformed);
  }
  SECTION("EOF before any byte") {
    ResponseParser p({}, false);
    CHECK(p.finish() != R::Complete);
    CHECK_FALSE(p.headers_done());
  }
}

TEST_CASE("a HEAD response has no body whatever Content-Length says", "[unit][http]") {
  ResponseParser p({}, true);
  std::string wire = "HTTP/1.1 200 OK\r\nContent-Length: 370\r\n\r\n";
  CHECK(p.feed(wire.data(), wire.size()) == R::Complete);
  CHECK(p.response().body.empty());
}

TEST_CASE("a redirect is a complete response with its Location", "[unit][http]") {
  ResponseParser p({}, false);
  std::string wire = "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://letta:8283/v1/health/\r\ncontent-length: 0\r\n\r\n";
  CHECK(p.feed(wire.data(), wire.size()) == R::Complete);
  CHECK(p.response().status == 307);
  CHECK(*lg::http::find_header(p.response().headers, "Location") == "http://letta:8283/v1/health/");
}

TEST_CASE("limits: endless headers and oversized bodies are refused, not held", "[unit][http]") {
  SECTION("header bytes") {
    ResponseParser p({1024, 4096}, false);
    std::string wire = "HTTP/1.1 200 OK\r\n";
    R r = p.feed(wire.data(), wire.size());
    std::string header = "X-Filler: " + std::string(100, 'x') + "\r\n";
    for (int i = 0; i < 20 && r == R::Ok; ++i) r = p.feed(header.data(), header.size());
    CHECK(r == R::HeaderTooLarge);
    CHECK(p.error_reason() == "response header fields too large");
  }
  SECTION("one huge header value, fed in small pieces") {
    ResponseParser p({1024, 4096}, false);
    std::string wire = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(5000, 'y');
    CHECK(feed_in_steps(p, wire, 7) == R::HeaderTooLarge);
  }
  SECTION("accumulated body") {
    ResponseParser p({1024, 4096}, false);
    std::string wire = "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'z');
    CHECK(feed_in_steps(p, wire, 512) == R::BodyTooLarge);
    CHECK(p.error_reason() == "response body too large");
  }
  SECTION("a streamed body has no limit: it is never stored") {
    size_t seen = 0;
    ResponseParser p({1024, 4096}, false, {nullptr, [&](std::string_view c) {
                                             seen += c.size();
                                             return true;
                                           }});
    std::string wire = "HTTP/1.1 200 OK\r\nContent-Length: 50000\r\n\r\n" + std::string(50000, 'z');
    CHECK(feed_in_steps(p, wire, 4096) == R::Complete);
    CHECK(seen == 50000);
    CHECK(p.response().body.empty());
  }
}

TEST_CASE("callbacks stop parsing when they return false", "[unit][http]") {
  SECTION("at the headers") {
    int heads = 0;
    ResponseParser p({}, false, {[&](const lg::http::ClientResponse& head) {
                                   ++heads;
                                   CHECK(head.status == 503);
                                   return false;
                                 },
                                 nullptr});
    std::string wire = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 3\r\n\r\nabc";
    CHECK(p.feed(wire.data(), wire.size()) == R::Stopped);
    CHECK(heads == 1);
    CHECK(p.response().body.empty());
  }
  SECTION("inside the body (an SSE stream that gave its first event)") {
    std::vector<std::string> chunks;
    ResponseParser p({}, false, {nullptr, [&](std::string_view c) {
                                   chunks.emplace_back(c);
                                   return false;
                                 }});
    std::string wire =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        "6\r\ndata: \r\n";
    CHECK(p.feed(wire.data(), wire.size()) == R::Stopped);
    REQUIRE(chunks.size() == 1);
    CHECK(chunks[0] == "data: ");
  }
}

TEST_CASE("malformed responses are Malformed with llhttp's reason", "[unit][http]") {
  for (const std::string& wire : std::vector<std::string>{"SSH-2.0-OpenSSH_9.2\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                           std::string("HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n", sizeof "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n" - 1)}) {
    ResponseParser p({}, false);
    CHECK(p.feed(wire.data(), wire.size()) == R::Malformed);
    CHECK_FALSE(p.error_reason().empty());
  }
}
