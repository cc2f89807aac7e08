// The health server against real sockets: the real binary with every component off.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "integration/http_server_harness.hpp"

using lgtest::RawConn;
using namespace lgtest::http_server;
using lgtest::rss_kib;
using lgtest::wait_quiet;

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

// The server stops parsing a pipelined burst once the answers it has not sent pass its output
// high-water mark (64 KiB), and goes on when they drain. Here the answers (a few hundred KiB)
// span several pauses: each must come once, in the order asked, each /metrics body counting
// exactly the scrapes answered before it.
TEST_CASE("a pipelined burst answered across backpressure pauses: every answer once, in order", "[http][unit]") {
  Server s;
  struct Ask {
    const char* line;
    int status;
  };
  const Ask cycle[] = {{"GET /metrics", 200}, {"GET /livez", 200}, {"HEAD /metrics", 200}, {"GET /status", 200},
                       {"GET /nope", 404},    {"HEAD /", 200},     {"GET /", 200},          {"HEAD /livez", 200}};
  std::string burst;
  std::vector<const Ask*> asked;
  for (int i = 0; i < 400; ++i) {
    const Ask& a = cycle[i % std::size(cycle)];
    burst += std::string(a.line) + " HTTP/1.1\r\nHost: x\r\n\r\n";
    asked.push_back(&a);
  }
  burst += "GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  asked.push_back(&cycle[1]);
  std::vector<bool> head_only;
  for (const Ask* a : asked) head_only.push_back(std::string(a->line).rfind("HEAD", 0) == 0);

  RawConn c(s.port);
  REQUIRE(c.send(burst));
  CHECK(c.read_to_eof(15000));
  const auto answers = split_answers(c.data(), head_only);
  INFO("bytes received: " << c.data().size());
  CHECK(c.data().size() > 4 * 64 * 1024);  // several high-water marks' worth
  REQUIRE(answers.size() == asked.size());
  // The first answer is a scrape: it counts the /livez the test's start-up asked.
  long metrics_before = 0, livez_before = served_count(answers[0].body, "/livez");
  for (size_t i = 0; i < asked.size(); ++i) {
    INFO("answer " << i << " to " << asked[i]->line << ": " << answers[i].head);
    CHECK(answers[i].status == asked[i]->status);
    const std::string line = asked[i]->line;
    if (line == "GET /metrics") {
      CHECK(served_count(answers[i].body, "/metrics") == metrics_before);
      CHECK(served_count(answers[i].body, "/livez") == livez_before);
    }
    if (line == "GET /status") CHECK_THAT(answers[i].body, Catch::StartsWith("{"));
    if (line == "GET /") CHECK_THAT(answers[i].body, Catch::Contains("</html>"));
    if (line.find("/metrics") != std::string::npos) ++metrics_before;
    if (line.find("/livez") != std::string::npos) ++livez_before;
  }
  CHECK_THAT(answers.back().head, Catch::Contains("Connection: close"));
  CHECK(c.data().size() == [&] {
    size_t n = 0;
    for (const auto& a : answers) n += a.head.size() + 4 + a.body.size();
    return n;
  }());  // nothing after the final answer
}

// A final request (Connection: close) or a malformed one behind requests answered across
// pauses: everything before it is answered in order, then its answer, then the close.
TEST_CASE("a paused burst ending in Connection: close or garbage answers up to it", "[http][unit]") {
  Server s;
  std::string scrapes;
  for (int i = 0; i < 100; ++i) scrapes += "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string more = "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n";
  RawConn closing(s.port), garbage(s.port);
  // One after the other: each body counts the scrapes of both connections.
  for (RawConn* conn : {&closing, &garbage}) {
    REQUIRE(conn->send(scrapes + (conn == &closing ? "GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                                                   : "\x16\x03\x01 not http\r\n\r\n") +
                       more + more));
    CHECK(conn->read_to_eof(15000));
    const auto answers = split_answers(conn->data(), {});
    REQUIRE(answers.size() == 101);
    std::vector<long> seen;
    for (size_t i = 0; i < 100; ++i) {
      CHECK(answers[i].status == 200);
      seen.push_back(served_count(answers[i].body, "/metrics"));
    }
    for (size_t i = 1; i < seen.size(); ++i) CHECK(seen[i] == seen[i - 1] + 1);  // in order, none twice
    CHECK_THAT(answers[100].head, Catch::Contains("Connection: close"));
  }
  CHECK(split_answers(closing.data(), {})[100].status == 200);
  CHECK(split_answers(garbage.data(), {})[100].status == 400);
}

// A client that pipelines 64 KiB of scrapes in one write and never reads: the server answers
// until the kernel's socket buffers are full, then holds at most its output marks and the
// unparsed rest of one read. Before, it parsed the whole read at once: ~1,900 answers
// (30 MB) in memory, the loop held for the while.
TEST_CASE("a client pipelining scrapes and never reading costs the server its output marks", "[http][stack]") {
  // Under AddressSanitizer freed memory waits in a quarantine (256 MiB by default), which RSS
  // would show as growth: none here, so RSS counts what is live (plus ASan's shadow of it).
  Server s("", "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0\"");
  const int pid = s.pid();
  std::string burst;
  while (burst.size() < 64 * 1024) burst += "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  const long before = rss_kib(pid);
  RawConn c(s.port);
  REQUIRE(c.send(burst));
  wait_quiet(pid);
  const long after = rss_kib(pid);
  // Marks: 64 KiB high + one answer (a few KiB here) queued, as much being built, and the
  // unparsed rest of a 64 KiB read (twice while it is re-parsed): under 400 KiB; 2 MiB allows
  // for the allocator (8 MiB for ASan's, which maps a region per size class). Before, the
  // growth was 7-20 MiB. The livez check shows the loop is free.
  INFO("RSS " << before << " KiB -> " << after << " KiB");
  CHECK(after - before < (kAddressSanitizer ? 8192 : 2048));
  CHECK(lgtest::http_get(s.port, "/livez", 1000).status == 200);
}

