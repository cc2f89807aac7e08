// The health server against real sockets: the real binary with every component off.
#include <catch2/catch.hpp>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "integration/gate_harness.hpp"
#include "support/raw_conn.hpp"
#include "support/test_env.hpp"

using lgtest::RawConn;

namespace {

struct Server {
  int port = lgtest::free_port();
  lgtest::Process proc;
  explicit Server(const std::string& extra = "")
      : proc("serve --listen 127.0.0.1:" + std::to_string(port) +
             " --letta-url off --postgres-dsn off --redis-url off --nginx-url off --forward off " + extra) {
    REQUIRE(lgtest::wait_live(port));
  }
};

const std::string kGet = "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n";

}  // namespace

TEST_CASE("keep-alive: several requests on one connection", "[stack][http]") {
  Server s;
  RawConn c(s.port);
  REQUIRE(c.send(kGet));
  c.read_until("ok\n", 1, 2000);
  REQUIRE(c.send("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string all = c.read_until("\"status\":\"ready\"", 1, 2000);
  CHECK_THAT(all, Catch::StartsWith("HTTP/1.1 200 OK\r\n"));
  CHECK_THAT(all, Catch::Contains("{\"components\":{},\"degraded\":false,\"status\":\"ready\"}"));
  CHECK_THAT(all, !Catch::Contains("Connection: close"));
}

TEST_CASE("pipelined requests are answered in order", "[stack][http]") {
  Server s;
  RawConn c(s.port);
  REQUIRE(c.send("GET /livez HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                 "POST /readyz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhiGET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string all = c.read_until("HTTP/1.1 ", 4, 3000);
  auto p200 = all.find("HTTP/1.1 200");
  auto p404 = all.find("HTTP/1.1 404");
  auto p405 = all.find("HTTP/1.1 405");
  auto last = all.rfind("HTTP/1.1 200");
  REQUIRE(p200 != std::string::npos);
  REQUIRE(p404 != std::string::npos);
  REQUIRE(p405 != std::string::npos);
  CHECK(p200 < p404);
  CHECK(p404 < p405);
  CHECK(p405 < last);
  CHECK_THAT(all, Catch::Contains("Allow: GET, HEAD"));
}

TEST_CASE("HEAD answers the headers of GET without a body", "[stack][http]") {
  Server s;
  RawConn c(s.port);
  REQUIRE(c.send("HEAD /livez HTTP/1.1\r\nHost: x\r\n\r\nGET /livez HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string all = c.read_until("ok\n", 1, 2000);
  auto first = all.find("Content-Length: 3\r\n");
  REQUIRE(first != std::string::npos);
  // The HEAD response is followed directly by the GET response: no body in between.
  auto head_end = all.find("\r\n\r\n");
  CHECK(all.compare(head_end + 4, 9, "HTTP/1.1 ") == 0);
}

TEST_CASE("404 and 405", "[stack][http]") {
  Server s;
  CHECK(lgtest::http_get(s.port, "/v1/health").status == 404);
  RawConn c(s.port);
  REQUIRE(c.send("DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK_THAT(c.read_until("\r\n\r\n", 1, 2000), Catch::StartsWith("HTTP/1.1 405"));
}

TEST_CASE("oversized headers get 431 and the connection closes", "[stack][http]") {
  Server s("--max-header-bytes 1024");
  RawConn c(s.port);
  REQUIRE(c.send("GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n"));
  CHECK(c.read_to_eof(3000));
  CHECK_THAT(c.data(), Catch::StartsWith("HTTP/1.1 431 Request Header Fields Too Large"));
  CHECK_THAT(c.data(), Catch::Contains("Connection: close"));
  // The server is fine afterwards.
  CHECK(lgtest::http_get(s.port, "/livez").status == 200);
}

TEST_CASE("a body over the limit gets 413", "[stack][http]") {
  Server s;
  RawConn c(s.port);
  REQUIRE(c.send("POST /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n" + std::string(100000, 'b')));
  c.read_to_eof(3000);
  CHECK_THAT(c.data(), Catch::StartsWith("HTTP/1.1 413"));
}

TEST_CASE("slow headers hit the header deadline (408), silent clients are cut", "[stack][http]") {
  Server s("--header-timeout 300ms");
  RawConn slow(s.port);
  RawConn silent(s.port);
  auto start = std::chrono::steady_clock::now();
  // One byte every 100 ms never finishes the headers within 300 ms.
  std::string req = "GET /livez HTTP/1.1\r\nHost: x\r\n";
  for (char ch : req) {
    if (!slow.send(std::string(1, ch))) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(2)) break;
  }
  CHECK(slow.read_to_eof(3000));
  CHECK_THAT(slow.data(), Catch::StartsWith("HTTP/1.1 408"));
  CHECK(silent.read_to_eof(3000));
  CHECK(silent.data().empty());
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  CHECK(elapsed.count() < 3000);
}

TEST_CASE("the connection cap answers 503 and recovers", "[stack][http]") {
  Server s("--max-connections 2");
  // Holds two keep-alive connections (the cap), each having been answered once.
  auto hold_two = [&](std::unique_ptr<RawConn>& a, std::unique_ptr<RawConn>& b) {
    a = std::make_unique<RawConn>(s.port);
    b = std::make_unique<RawConn>(s.port);
    REQUIRE(a->send(kGet));
    REQUIRE(b->send(kGet));
    CHECK_THAT(a->read_until("ok\n", 1, 2000), Catch::StartsWith("HTTP/1.1 200"));
    CHECK_THAT(b->read_until("ok\n", 1, 2000), Catch::StartsWith("HTTP/1.1 200"));
  };
  auto expect_rejected = [&] {
    RawConn extra(s.port);
    CHECK(extra.read_to_eof(3000));
    CHECK_THAT(extra.data(), Catch::StartsWith("HTTP/1.1 503"));
    CHECK_THAT(extra.data(), Catch::Contains("too many connections"));
  };
  std::unique_ptr<RawConn> a, b;
  hold_two(a, b);
  for (int i = 0; i < 3; ++i) expect_rejected();
  // The held connections are still served while others are turned away.
  REQUIRE(a->send(kGet));
  CHECK(a->read_until("ok\n", 2, 2000).find("HTTP/1.1 200", 10) != std::string::npos);

  // One client leaves: its slot is free again (the server sees the close on its loop: poll).
  a.reset();
  auto served_within = [&](int ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < deadline) {
      if (lgtest::http_get(s.port, "/livez", 1000).status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  };
  CHECK(served_within(3000));
  b.reset();
  REQUIRE(served_within(3000));

  // Both slots are free: the rejected connections left nothing behind. The cap holds again.
  hold_two(a, b);
  expect_rejected();
  a.reset();
  b.reset();
  REQUIRE(served_within(3000));

  // The metrics agree: 4 rejected in all, and only the scrape's own connection open.
  std::optional<lgtest::Scrape> m;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = lgtest::http_get(s.port, "/metrics", 1000);
    if (r.status == 200) {
      m.emplace(r.body);
      if (m->get("lettagate_http_connections_active") == 1) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(m);
  INFO(m->text());
  CHECK(m->get("lettagate_http_connections_active") == 1);
  CHECK(m->get("lettagate_http_connections_rejected_total") == 4);
}

TEST_CASE("HTTP/1.0 and Connection: close end the connection after the response", "[stack][http]") {
  Server s;
  RawConn c(s.port);
  REQUIRE(c.send("GET /livez HTTP/1.0\r\n\r\n"));
  CHECK(c.read_to_eof(2000));
  CHECK_THAT(c.data(), Catch::Contains("Connection: close"));
  RawConn d(s.port);
  REQUIRE(d.send("GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /livez HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(d.read_to_eof(2000));
  CHECK(d.data().find("HTTP/1.1", 5) == std::string::npos);  // the second request is not answered
}

TEST_CASE("garbage gets 400 and a close", "[stack][http]") {
  Server s;
  RawConn c(s.port);
  REQUIRE(c.send("\x16\x03\x01 this is not http\r\n\r\n"));
  CHECK(c.read_to_eof(2000));
  CHECK_THAT(c.data(), Catch::StartsWith("HTTP/1.1 400"));
}

TEST_CASE("/metrics and /status answer with their content types", "[stack][http]") {
  Server s;
  auto m = lgtest::http_get(s.port, "/metrics");
  CHECK(m.status == 200);
  CHECK_THAT(m.headers, Catch::Contains("text/plain; version=0.0.4"));
  CHECK_THAT(m.body, Catch::Contains("lettagate_http_requests_total"));
  auto st = lgtest::http_get(s.port, "/status");
  CHECK(st.status == 200);
  CHECK_THAT(st.headers, Catch::Contains("application/json"));
  CHECK_THAT(st.body, Catch::Contains("\"version\""));
}

// /metrics and /readyz bodies are written from buffers the server keeps (the registry's, the
// cached readyz text) rather than copied: pipelined scrapes must still each get the body their
// own Content-Length announces, the metrics one rendered for that very request.
TEST_CASE("pipelined scrapes: every response's body matches its Content-Length", "[stack][http]") {
  Server s;
  RawConn c(s.port);
  const std::string scrape = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  REQUIRE(c.send(scrape + scrape + "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n" + scrape +
                 "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nConnection: close\r\n\r\n"));
  CHECK(c.read_to_eof(3000));
  const std::string& all = c.data();
  std::vector<std::string> bodies;
  size_t pos = 0;
  while (pos < all.size()) {
    REQUIRE(all.compare(pos, 9, "HTTP/1.1 ") == 0);
    auto end = all.find("\r\n\r\n", pos);
    REQUIRE(end != std::string::npos);
    const std::string head = all.substr(pos, end - pos);
    auto cl = head.find("Content-Length: ");
    REQUIRE(cl != std::string::npos);
    size_t len = std::stoul(head.substr(cl + 16));
    const bool head_only = bodies.size() == 4;
    if (head_only) len = 0;
    REQUIRE(end + 4 + len <= all.size());
    bodies.push_back(all.substr(end + 4, len));
    pos = end + 4 + len;
  }
  REQUIRE(bodies.size() == 6);
  for (int i : {0, 1, 3}) {
    CHECK_THAT(bodies[i], Catch::StartsWith("# HELP "));
    CHECK_THAT(bodies[i], Catch::EndsWith("\n"));
  }
  // Each scrape counts the one before it: the bodies differ, none is a later render.
  CHECK_THAT(bodies[1], Catch::Contains("lettagate_http_requests_total{path=\"/metrics\",code=\"200\"} 1\n"));
  CHECK_THAT(bodies[3], Catch::Contains("lettagate_http_requests_total{path=\"/metrics\",code=\"200\"} 2\n"));
  CHECK(bodies[2] == "{\"components\":{},\"degraded\":false,\"status\":\"ready\"}");
  CHECK_THAT(bodies[5], Catch::StartsWith("not found"));
}
