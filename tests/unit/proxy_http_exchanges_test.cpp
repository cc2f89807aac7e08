// HttpExchanges (the drain's view of a proxied session): when the bytes say every request has
// its whole final response (idle), when something is in flight, and when the bytes are not HTTP
// exchanges it can follow (opaque, never idle). Bytes are fed as the pipes would, in any split.
#include <llhttp.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "proxy/http_exchanges.hpp"

using lg::proxy::HttpExchanges;

namespace {

void req(HttpExchanges& x, const std::string& s) { x.requests(s.data(), s.size()); }
void res(HttpExchanges& x, const std::string& s) { x.responses(s.data(), s.size()); }

// Feeds one byte at a time: a boundary must not depend on how reads split the stream.
void req_bytes(HttpExchanges& x, const std::string& s) {
  for (char c : s) x.requests(&c, 1);
}
void res_bytes(HttpExchanges& x, const std::string& s) {
  for (char c : s) x.responses(&c, 1);
}

std::string chunk(const std::string& data) {
  char size[16];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + data + "\r\n";
}

const std::string kGet = "GET /v1/health/ HTTP/1.1\r\nHost: letta\r\n\r\n";
const std::string kOk = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

}  // namespace

TEST_CASE("http exchanges: a session that carried nothing is idle", "[unit][proxy]") {
  HttpExchanges x;
  CHECK(x.idle());
  CHECK_FALSE(x.opaque());
}

TEST_CASE("http exchanges: keep-alive request and response, whole or byte by byte", "[unit][proxy]") {
  HttpExchanges x;
  req_bytes(x, kGet.substr(0, 10));
  CHECK_FALSE(x.idle());  // a request partly received
  req_bytes(x, kGet.substr(10));
  CHECK_FALSE(x.idle());  // waiting for its response
  res_bytes(x, kOk.substr(0, kOk.size() - 2));
  CHECK_FALSE(x.idle());  // the body is not complete
  res_bytes(x, kOk.substr(kOk.size() - 2));
  CHECK(x.idle());
  req(x, kGet);
  res(x, kOk);
  CHECK(x.idle());
  CHECK(x.responses_done() == 2);
}

TEST_CASE("http exchanges: a chunked SSE stream is in flight until its last chunk", "[unit][proxy]") {
  HttpExchanges x;
  req(x, "POST /v1/agents/a/messages/stream HTTP/1.1\r\nHost: l\r\nContent-Length: 2\r\n\r\n{}");
  res(x, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 3; ++i) {
    res(x, chunk("data: {\"message_type\":\"assistant_message\"}\n\n"));
    CHECK_FALSE(x.idle());  // a pause between events is not the end
  }
  res(x, chunk("data: [DONE]\n\n"));
  CHECK_FALSE(x.idle());
  res(x, "0\r\n\r\n");
  CHECK(x.idle());
  CHECK_FALSE(x.opaque());
}

TEST_CASE("http exchanges: a request body still uploading keeps the session busy", "[unit][proxy]") {
  HttpExchanges x;
  req(x, "POST /up HTTP/1.1\r\nHost: l\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
  res(x, "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n");  // an early answer
  CHECK_FALSE(x.idle());
  req(x, "0\r\n\r\n");
  CHECK(x.idle());
}

TEST_CASE("http exchanges: HEAD answers have no body, also pipelined", "[unit][proxy]") {
  HttpExchanges x;
  req(x, "HEAD /a HTTP/1.1\r\nHost: l\r\n\r\nGET /b HTTP/1.1\r\nHost: l\r\n\r\nHEAD /c HTTP/1.1\r\nHost: l\r\n\r\n");
  res(x, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");  // HEAD: no body follows
  CHECK_FALSE(x.idle());
  res(x, kOk);
  CHECK_FALSE(x.idle());
  res(x, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  CHECK(x.idle());
  CHECK(x.responses_done() == 3);
  CHECK_FALSE(x.opaque());
}

TEST_CASE("http exchanges: interim 1xx responses do not answer the request", "[unit][proxy]") {
  HttpExchanges x;
  req(x, "PUT /x HTTP/1.1\r\nHost: l\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
  res(x, "HTTP/1.1 100 Continue\r\n\r\n");
  CHECK_FALSE(x.idle());
  req(x, "abc");
  res(x, "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n");
  CHECK_FALSE(x.idle());
  res(x, "HTTP/1.1 204 No Content\r\n\r\n");
  CHECK(x.idle());
}

TEST_CASE("http exchanges: a response delimited by the close is never complete before it", "[unit][proxy]") {
  HttpExchanges x;
  req(x, kGet);
  res(x, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: 1\n\n");
  CHECK_FALSE(x.idle());
  res(x, "data: 2\n\n");
  CHECK_FALSE(x.idle());
}

TEST_CASE("http exchanges: tunnels and foreign protocols are opaque for good", "[unit][proxy]") {
  SECTION("CONNECT") {
    HttpExchanges x;
    req(x, "CONNECT letta:443 HTTP/1.1\r\nHost: letta:443\r\n\r\n");
    res(x, "HTTP/1.1 200 Connection Established\r\n\r\n");
    CHECK(x.opaque());
  }
  SECTION("Upgrade to WebSocket, answered 101") {
    HttpExchanges x;
    req(x, "GET /ws HTTP/1.1\r\nHost: l\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    res(x, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    CHECK(x.opaque());
  }
  SECTION("psql's startup packet") {
    HttpExchanges x;
    const std::string startup("\0\0\0\x08\x04\xd2\x16\x2f", 8);  // SSLRequest
    req(x, startup);
    CHECK(x.opaque());
  }
  SECTION("redis-cli") {
    HttpExchanges x;
    req(x, "*1\r\n$4\r\nPING\r\n");
    CHECK(x.opaque());
  }
  SECTION("a response that said Connection: close is complete; the upstream closes next") {
    HttpExchanges x;
    req(x, kGet);
    res(x, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    CHECK(x.idle());
    CHECK_FALSE(x.opaque());
  }
  SECTION("a server that speaks first") {
    HttpExchanges x;
    res(x, "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n");
    CHECK(x.opaque());
  }
  SECTION("a head line longer than 64 KiB, in pieces") {
    HttpExchanges x;
    req(x, "GET /");
    const std::string piece(16 * 1024, 'u');
    for (int i = 0; i < 3; ++i) req(x, piece);  // 48 KiB and 5 bytes
    CHECK_FALSE(x.opaque());
    req(x, piece);
    CHECK(x.opaque());
  }
  SECTION("more than 64 requests waiting for their answers") {
    HttpExchanges x;
    for (int i = 0; i < 64; ++i) req(x, kGet);
    CHECK_FALSE(x.opaque());
    req(x, kGet);
    CHECK(x.opaque());
  }
  // Once opaque, nothing makes the session idle again.
  HttpExchanges x;
  req(x, "\x16\x03\x01\x02\x00");  // a TLS ClientHello
  req(x, kGet);
  res(x, kOk);
  CHECK(x.opaque());
  CHECK_FALSE(x.idle());
}

// ---- against llhttp ----------------------------------------------------------------------------
// Random keep-alive and pipelined exchanges (methods, HEAD, 1xx, 204/304, Content-Length and
// chunked bodies with extensions and trailers, header lines longer than what a split line keeps),
// fed in random pieces to HttpExchanges and to a reference built on llhttp (what Node's and
// lettagate's HTTP servers parse with): both must say idle at exactly the same points.
namespace {

class LlhttpReference {
 public:
  LlhttpReference() {
    llhttp_settings_init(&req_settings_);
    req_settings_.on_message_begin = [](llhttp_t* p) { return self(p)->in_request_ = true, 0; };
    req_settings_.on_headers_complete = [](llhttp_t* p) {
      auto* s = self(p);
      if (llhttp_get_method(p) == HTTP_HEAD) s->head_ |= uint64_t{1} << s->waiting_;
      ++s->waiting_;
      return 0;
    };
    req_settings_.on_message_complete = [](llhttp_t* p) { return self(p)->in_request_ = false, ++self(p)->requests_, 0; };
    llhttp_settings_init(&res_settings_);
    res_settings_.on_message_begin = [](llhttp_t* p) { return self(p)->in_response_ = true, 0; };
    res_settings_.on_headers_complete = [](llhttp_t* p) {
      auto* s = self(p);
      s->final_ = p->status_code >= 200;
      if (!s->final_) return 0;
      const bool head = s->head_ & 1;
      s->head_ >>= 1;
      --s->waiting_;
      return head ? 1 : 0;
    };
    res_settings_.on_message_complete = [](llhttp_t* p) {
      auto* s = self(p);
      s->in_response_ = false;
      if (s->final_) ++s->responses_;
      return 0;
    };
    llhttp_init(&req_, HTTP_REQUEST, &req_settings_);
    llhttp_init(&res_, HTTP_RESPONSE, &res_settings_);
    req_.data = res_.data = this;
  }
  void requests(const std::string& s) { ok_ = ok_ && llhttp_execute(&req_, s.data(), s.size()) == HPE_OK; }
  void responses(const std::string& s) { ok_ = ok_ && llhttp_execute(&res_, s.data(), s.size()) == HPE_OK; }
  bool ok() const { return ok_; }
  bool idle() const { return ok_ && !in_request_ && !in_response_ && requests_ == responses_; }

 private:
  static LlhttpReference* self(llhttp_t* p) { return static_cast<LlhttpReference*>(p->data); }
  llhttp_settings_t req_settings_{}, res_settings_{};
  llhttp_t req_{}, res_{};
  uint64_t head_ = 0, requests_ = 0, responses_ = 0;
  unsigned waiting_ = 0;
  bool in_request_ = false, in_response_ = false, final_ = false, ok_ = true;
};

struct Rng {
  uint64_t s;
  uint64_t next() { return s ^= s << 13, s ^= s >> 7, s ^= s << 17; }
  size_t below(size_t n) { return static_cast<size_t>(next() % n); }
};

std::string chunked_body(Rng& r) {
  std::string out;
  for (size_t i = r.below(4); i > 0; --i) {
    const std::string data(1 + r.below(300), 'c');
    char size[32];
    std::snprintf(size, sizeof size, r.below(4) == 0 ? "%zX;ext=1\r\n" : "%zx\r\n", data.size());
    out += size + data + "\r\n";
  }
  out += r.below(4) == 0 ? "0\r\nX-Trailer: t\r\n\r\n" : "0\r\n\r\n";
  return out;
}

std::string extra_headers(Rng& r) {
  std::string h;
  for (size_t i = r.below(5); i > 0; --i) h += "X-" + std::string(1 + r.below(90), 'h') + ": " + std::string(r.below(120), 'v') + "\r\n";
  return h;
}

// One request and its response(s); *head tells whether the request was a HEAD.
std::pair<std::string, std::string> exchange(Rng& r) {
  static const char* kMethods[] = {"GET", "POST", "PUT", "HEAD", "DELETE", "PATCH"};
  const std::string method = kMethods[r.below(6)];
  std::string req = method + " /v1/" + std::string(r.below(100), 'u') + " HTTP/1.1\r\nHost: letta\r\n" + extra_headers(r);
  const size_t body = method == "GET" || method == "HEAD" ? 0 : r.below(3);
  if (body == 1) {
    const std::string b(r.below(2000), 'b');
    req += "Content-Length: " + std::to_string(b.size()) + "\r\n\r\n" + b;
  } else if (body == 2) {
    req += "Transfer-Encoding: chunked\r\n\r\n" + chunked_body(r);
  } else {
    req += "\r\n";
  }
  std::string res;
  if (r.below(5) == 0) res += r.below(2) ? "HTTP/1.1 100 Continue\r\n\r\n" : "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n";
  static const int kStatus[] = {200, 201, 204, 304, 404, 500};
  const int status = kStatus[r.below(6)];
  res += "HTTP/1.1 " + std::to_string(status) + " X\r\n" + extra_headers(r);
  if (status == 204 || status == 304) {
    res += "\r\n";
  } else if (r.below(2)) {
    const std::string b(r.below(3000), 'r');
    res += "Content-Length: " + std::to_string(b.size()) + "\r\n\r\n" + (method == "HEAD" ? "" : b);
  } else {
    res += "Transfer-Encoding: chunked\r\n\r\n" + (method == "HEAD" ? std::string() : chunked_body(r));
  }
  return {req, res};
}

}  // namespace

TEST_CASE("http exchanges: idle exactly where llhttp says so, whatever the reads' splits", "[unit][proxy]") {
  Rng r{0x9e3779b97f4a7c15ULL};
  int compared = 0;
  for (int round = 0; round < 300; ++round) {
    HttpExchanges x;
    LlhttpReference ref;
    std::vector<std::pair<std::string, std::string>> ex;
    for (size_t i = 1 + r.below(5); i > 0; --i) ex.push_back(exchange(r));
    const bool pipelined = r.below(3) == 0;
    auto feed = [&](const std::string& bytes, bool request) {
      for (size_t at = 0; at < bytes.size();) {
        const size_t n = std::min(bytes.size() - at, 1 + r.below(r.below(2) ? 8 : 700));
        const std::string piece = bytes.substr(at, n);
        if (request) x.requests(piece.data(), n), ref.requests(piece);
        else x.responses(piece.data(), n), ref.responses(piece);
        at += n;
        INFO("round " << round << (request ? " request" : " response") << " byte " << at << " of " << bytes.size());
        REQUIRE(ref.ok());
        REQUIRE_FALSE(x.opaque());
        REQUIRE(x.idle() == ref.idle());
        ++compared;
      }
    };
    if (pipelined) {
      for (auto& e : ex) feed(e.first, true);
      for (auto& e : ex) feed(e.second, false);
    } else {
      for (auto& e : ex) feed(e.first, true), feed(e.second, false);
    }
    CHECK(x.idle());
    CHECK(x.responses_done() == ex.size());
  }
  CHECK(compared > 5000);
}
