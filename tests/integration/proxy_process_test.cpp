// The real binary: SIGTERM drain with an open proxied connection (finishes, or is cut at
// --drain-timeout; exit 0 either way), and running out of file descriptors (EMFILE) without a
// busy loop, recovering when descriptors are back.
#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "integration/proxy_harness.hpp"
#include "support/process_stats.hpp"
#include "support/test_env.hpp"

using namespace lgtest::proxy;
using lgtest::cpu_seconds;
using lgtest::rss_kib;

namespace {

std::string serve_args(int http_port, int proxy_port, int upstream_port, const std::string& extra = "") {
  return "serve --listen 127.0.0.1:" + std::to_string(http_port) +
         " --letta-url off --postgres-dsn off --redis-url off --nginx-url off --forward 127.0.0.1:" +
         std::to_string(proxy_port) + "=127.0.0.1:" + std::to_string(upstream_port) + " " + extra;
}

// Connects to the proxy port until it answers (the binary just started).
int connect_when_up(int port) {
  const double deadline = now_ms() + 5000;
  while (now_ms() < deadline) {
    int fd = connect_to("127.0.0.1", port);
    if (fd >= 0) return fd;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

// Descriptors open in process `pid` (/proc/PID/fd).
int open_fds(int pid) {
  DIR* d = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (!d) return -1;
  int n = 0;
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

bool echoes(int fd, const std::string& word) {
  return send_all(fd, word.data(), word.size()) && recv_n(fd, word.size(), 3000) == word;
}

}  // namespace

TEST_CASE("proxy drain: an open connection keeps working, new ones are refused, exit 0 when it closes",
          "[stack][proxy]") {
  TestServer echo(echo_handler);
  const int http = lgtest::free_port(), proxy = lgtest::free_port();
  lgtest::Process proc(serve_args(http, proxy, echo.port(), "--drain-timeout 20s"));
  REQUIRE(lgtest::wait_live(http));
  Fd c(connect_when_up(proxy));
  REQUIRE(c.fd >= 0);
  REQUIRE(echoes(c.fd, "before"));

  proc.signal(SIGTERM);
  lgtest::HttpResult ready;
  const double deadline = now_ms() + 3000;
  while (now_ms() < deadline) {
    ready = lgtest::http_get(http, "/readyz", 1000);
    if (ready.status == 503) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  INFO(ready.body);
  CHECK(ready.status == 503);
  CHECK_THAT(ready.body, Catch::Contains("\"status\":\"draining\""));
  CHECK(echoes(c.fd, "during drain"));  // the open connection goes on
  int again = connect_to("127.0.0.1", proxy);
  const int err = errno;
  CHECK(again < 0);  // the listener is closed
  CHECK(err == ECONNREFUSED);
  if (again >= 0) close(again);
  CHECK(echoes(c.fd, "still"));
  CHECK(proc.wait(300) == -1);  // still running: the connection is open

  const double closed_at = now_ms();
  close(c.fd);
  c.fd = -1;
  CHECK(proc.wait(5000) == 0);
  CHECK(now_ms() - closed_at < 2000);
  INFO(proc.log());
  CHECK_THAT(proc.log(), Catch::Contains("drained: no connections left"));
}

TEST_CASE("proxy drain: a connection still open at --drain-timeout is closed and the exit is 0",
          "[stack][proxy]") {
  TestServer echo(echo_handler);
  const int http = lgtest::free_port(), proxy = lgtest::free_port();
  lgtest::Process proc(serve_args(http, proxy, echo.port(), "--drain-timeout 800ms"));
  REQUIRE(lgtest::wait_live(http));
  Fd c(connect_when_up(proxy));
  REQUIRE(echoes(c.fd, "hi"));
  const double sent = now_ms();
  proc.signal(SIGTERM);
  double waited = 0;
  PeerEnd end = wait_end(c.fd, 5000, &waited);
  CHECK((end == PeerEnd::Eof || end == PeerEnd::Reset));
  CHECK(proc.wait(5000) == 0);
  const double took = now_ms() - sent;
  CHECK(took >= 700);
  CHECK(took < 3000);
  INFO(proc.log());
  CHECK_THAT(proc.log(), Catch::Contains("drain timeout"));
}

TEST_CASE("proxy EMFILE: descriptors taken away at run time: no busy loop, service recovers when they are back",
          "[stack][proxy]") {
  // The budget made at start (app/fd_budget.hpp) keeps the forwarder's cap within the limit, so
  // accept() only fails when descriptors run out anyway: here the limit is lowered under the
  // running process (prlimit) to the descriptors it has open.
  TestServer echo(echo_handler, "127.0.0.1", 512);
  const int http = lgtest::free_port(), proxy = lgtest::free_port();
  lgtest::Process proc(serve_args(http, proxy, echo.port()));
  REQUIRE(lgtest::wait_live(http));
  Fd first(connect_when_up(proxy));
  REQUIRE(echoes(first.fd, "first"));

  rlimit original{};
  REQUIRE(prlimit(proc.pid(), RLIMIT_NOFILE, nullptr, &original) == 0);
  rlimit lowered = original;
  lowered.rlim_cur = static_cast<rlim_t>(open_fds(proc.pid()));  // no descriptor number left
  REQUIRE(prlimit(proc.pid(), RLIMIT_NOFILE, &lowered, nullptr) == 0);

  std::vector<int> clients;
  for (int i = 0; i < 60; ++i) {
    int fd = connect_to("127.0.0.1", proxy);  // completes in the kernel's backlog
    if (fd >= 0) clients.push_back(fd);
    send_all(fd, "x", 1);
  }
  REQUIRE(proc.wait_log("pausing accepts", 5000));  // it hit the limit
  const double cpu_before = cpu_seconds(proc.pid());
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  const double cpu_used = cpu_seconds(proc.pid()) - cpu_before;
  WARN("EMFILE: lettagate used " << cpu_used << " s of CPU in 3 s with " << clients.size() << " clients waiting");
  CHECK(cpu_used < 0.3);                 // a spinning accept loop would burn ~3 s
  CHECK(echoes(first.fd, "still fine"));  // sessions made before keep working

  for (int fd : clients) close(fd);
  clients.clear();
  REQUIRE(prlimit(proc.pid(), RLIMIT_NOFILE, &original, nullptr) == 0);
  // Once descriptors are back, a new client is served (the back-off is at most 1 s).
  bool served = false;
  const double deadline = now_ms() + 8000;
  while (!served && now_ms() < deadline) {
    Fd c(connect_to("127.0.0.1", proxy));
    if (c.fd >= 0 && echoes(c.fd, "recovered")) served = true;
    else std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(served);
  const std::string log = proc.log();
  INFO(log);
  CHECK_THAT(log, Catch::Contains("pausing accepts"));
  CHECK_THAT(log, Catch::Contains("accepting again"));
  auto metrics = lgtest::http_get(http, "/metrics", 3000);
  CHECK_THAT(metrics.body, Catch::Contains("lettagate_proxy_accept_errors_total{route=\"127.0.0.1:" +
                                           std::to_string(proxy) + "=127.0.0.1:" + std::to_string(echo.port()) + "\"}"));
  CHECK_THAT(metrics.body, !Catch::Contains("lettagate_proxy_accept_errors_total{route=\"127.0.0.1:" +
                                            std::to_string(proxy) + "=127.0.0.1:" + std::to_string(echo.port()) +
                                            "\"} 0\n"));
}

TEST_CASE("proxy slow reader: lettagate's RSS stays flat while 200 MiB wait behind a client that does not read",
          "[stack][proxy]") {
  const size_t total = 200u << 20;
  std::atomic<size_t> pushed{0};
  TestServer pusher([&](int fd) {
    std::vector<char> buf(64 * 1024, 'p');
    for (size_t done = 0; done < total; done += buf.size()) {
      if (!send_all(fd, buf.data(), buf.size())) return;
      pushed = done + buf.size();
    }
  });
  const int http = lgtest::free_port(), proxy = lgtest::free_port();
  lgtest::Process proc(serve_args(http, proxy, pusher.port()));
  REQUIRE(lgtest::wait_live(http));
  Fd c(connect_when_up(proxy));
  REQUIRE(c.fd >= 0);
  const long rss_before = rss_kib(proc.pid());
  size_t last = 0;
  for (int i = 0; i < 60; ++i) {  // until the push stalls, at most 3 s
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (i > 10 && pushed == last) break;
    last = pushed;
  }
  const long rss_stalled = rss_kib(proc.pid());
  WARN("slow reader, real binary: RSS " << rss_before << " KiB before, " << rss_stalled << " KiB with the upstream stalled after "
       << (pushed.load() >> 20) << " MiB");
  CHECK(pushed.load() < total / 4);
  CHECK(rss_stalled - rss_before < 4 * 1024);  // buffers are bounded at 256 KiB per direction
  size_t received = 0;
  std::vector<char> buf(256 * 1024);
  while (received < total) {
    ssize_t r = ::recv(c.fd, buf.data(), buf.size(), 0);
    if (r <= 0) break;
    received += static_cast<size_t>(r);
  }
  CHECK(received == total);
  CHECK(rss_kib(proc.pid()) - rss_before < 4 * 1024);
}
