#include <catch2/catch.hpp>
#include <algorithm>
#include <vector>

#include "http/request_parser.hpp"

using lg::http::Request;
using lg::http::RequestParser;

namespace {
struct Collect {
  std::vector<Request> requests;
  int begins = 0;
  bool stop_after_first = false;
  RequestParser parser;
  explicit Collect(RequestParser::Limits limits = {}, bool stop = false)
      : stop_after_first(stop),
        parser(limits, [this] { ++begins; }, [this](const Request& r) {
          requests.push_back(r);
          return !stop_after_first;
        }) {}
};
}  // namespace

TEST_CASE("requests split anywhere parse the same", "[unit][http]") {
  const std::string wire =
      "GET /readyz?verbose=1 HTTP/1.1\r\nHost: x\r\nX-Multi: a\r\n\r\n"
      "POST /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
  for (size_t cut = 1; cut < wire.size(); cut += 7) {
    Collect c;
    REQUIRE(c.parser.feed(wire.data(), cut) == RequestParser::Result::Ok);
    REQUIRE(c.parser.feed(wire.data() + cut, wire.size() - cut) == RequestParser::Result::Ok);
    REQUIRE(c.requests.size() == 2);
    CHECK(c.begins == 2);
    CHECK(c.requests[0].method == "GET");
    CHECK(c.requests[0].path == "/readyz");
    CHECK(c.requests[0].query == "verbose=1");
    CHECK(*lg::http::find_header(c.requests[0].headers, "X-MULTI") == "a");
    CHECK(c.requests[1].body == "hello");
  }
}

TEST_CASE("limits and malformed input", "[unit][http]") {
  Collect big({100, 10});
  std::string h = "GET / HTTP/1.1\r\nX: " + std::string(200, 'a') + "\r\n\r\n";
  CHECK(big.parser.feed(h.data(), h.size()) == RequestParser::Result::HeaderTooLarge);
  CHECK(big.parser.error_reason() == "header fields too large");
  Collect body({8192, 10});
  std::string b = "POST / HTTP/1.1\r\nContent-Length: 20\r\n\r\n01234567890123456789";
  CHECK(body.parser.feed(b.data(), b.size()) == RequestParser::Result::BodyTooLarge);
  Collect bad;
  std::string g = "\x01\x02 garbage\r\n\r\n";
  CHECK(bad.parser.feed(g.data(), g.size()) == RequestParser::Result::Malformed);
  CHECK_FALSE(bad.parser.error_reason().empty());
}

TEST_CASE("a final request stops parsing, keep-alive follows the version and header", "[unit][http]") {
  Collect c({}, true);
  std::string w = "GET /a HTTP/1.0\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
  CHECK(c.parser.feed(w.data(), w.size()) == RequestParser::Result::Stopped);
  REQUIRE(c.requests.size() == 1);
  CHECK_FALSE(c.requests[0].keep_alive);
  Collect k;
  std::string w2 = "GET /a HTTP/1.1\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
  k.parser.feed(w2.data(), w2.size());
  REQUIRE_FALSE(k.requests.empty());
  CHECK_FALSE(k.requests[0].keep_alive);
}

// The health server pauses after a request whose answer filled its output: the parser must
// say where it stopped, and continue from there (whole or cut anywhere) as if never paused.
TEST_CASE("a pause asked for in the callback stops after that request and the rest parses later", "[http][unit]") {
  const std::string wire =
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz"
      "GET /c HTTP/1.1\r\n\r\nGET /d HTTP/1.1\r\nConnection: close\r\n\r\nGET /e HTTP/1.1\r\n\r\n";
  for (size_t cut = 1; cut <= wire.size(); cut += 5) {
    std::vector<std::string> paths;
    RequestParser* self = nullptr;
    RequestParser parser({}, [] {}, [&](const Request& r) {
      paths.push_back(r.path + (r.body.empty() ? "" : ":" + r.body));
      if (!r.keep_alive) return false;
      self->pause();
      return true;
    });
    self = &parser;
    // The bytes arrive in two reads cut at `cut`; each read is fed until it is all parsed.
    std::vector<RequestParser::Result> results;
    for (auto [from, to] : {std::pair<size_t, size_t>{0, cut}, {cut, wire.size()}}) {
      while (from < to && (results.empty() || results.back() == RequestParser::Result::Ok ||
                           results.back() == RequestParser::Result::Paused)) {
        size_t parsed = 0;
        results.push_back(parser.feed(wire.data() + from, to - from, &parsed));
        REQUIRE(parsed <= to - from);
        from += parsed;
      }
    }
    INFO("cut at " << cut);
    CHECK(paths == std::vector<std::string>{"/a", "/b:xyz", "/c", "/d"});
    CHECK(std::count(results.begin(), results.end(), RequestParser::Result::Paused) == 3);
    CHECK(results.back() == RequestParser::Result::Stopped);  // /d was the last one; /e is never parsed
  }
}
