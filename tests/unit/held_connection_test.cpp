// The held idle connection (probes/held_connection.hpp) on a real loop against a loopback
// listener of the test's own: its end is reported once, as "eof" for a FIN and "reset" for an RST;
// a connect that fails is not reported (the probe sees that itself); closing the watch leaves
// nothing open.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "probes/held_connection.hpp"

namespace {

struct Listener {
  int fd = -1;
  uint16_t port = 0;
  Listener() {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(listen(fd, 8) == 0);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Listener() { close(fd); }
};

// Runs the loop a turn at a time until `done` or 5 s.
template <class F>
bool run_until(uv_loop_t* loop, F done) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done() && std::chrono::steady_clock::now() < end) {
    uv_run(loop, UV_RUN_NOWAIT);
    pollfd none{};
    poll(&none, 0, 1);  // a millisecond for the kernel and the resolver's thread
  }
  return done();
}

int accept_one(uv_loop_t* loop, const Listener& l) {
  int fd = -1;
  run_until(loop, [&] {
    pollfd p{l.fd, POLLIN, 0};
    if (poll(&p, 1, 0) == 1) fd = accept(l.fd, nullptr, nullptr);
    return fd >= 0;
  });
  return fd;
}

}  // namespace

TEST_CASE("held connection: the server's FIN is reported as eof, its RST as reset, once each", "[unit][kit]") {
  uv_loop_t loop;
  uv_loop_init(&loop);
  Listener l;
  std::vector<std::string> lost;
  {
    lg::probes::TcpWatch watch(&loop, "127.0.0.1", l.port);
    watch.ensure([&](const char* r) { lost.emplace_back(r); });
    int fd = accept_one(&loop, l);
    REQUIRE(fd >= 0);
    watch.ensure([&](const char* r) { lost.emplace_back(std::string("second ") + r); });  // one is open: no-op
    close(fd);  // FIN
    REQUIRE(run_until(&loop, [&] { return !lost.empty(); }));
    CHECK(lost == std::vector<std::string>{"eof"});

    watch.ensure([&](const char* r) { lost.emplace_back(r); });  // a new one, as after a success
    fd = accept_one(&loop, l);
    REQUIRE(fd >= 0);
    for (int i = 0; i < 10; ++i) uv_run(&loop, UV_RUN_NOWAIT);  // nothing ends by itself meanwhile
    CHECK(lost.size() == 1);
    linger lg{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);  // RST
    REQUIRE(run_until(&loop, [&] { return lost.size() == 2; }));
    CHECK(lost.back() == "reset");
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("held connection: a refused connect is not reported, and closing the watch leaves nothing open",
          "[unit][kit]") {
  uv_loop_t loop;
  uv_loop_init(&loop);
  uint16_t dead_port = 0;
  {
    Listener l;
    dead_port = l.port;
  }  // closed: nothing listens there now
  std::vector<std::string> lost;
  {
    lg::probes::TcpWatch watch(&loop, "127.0.0.1", dead_port);
    watch.ensure([&](const char* r) { lost.emplace_back(r); });
    uv_run(&loop, UV_RUN_DEFAULT);  // resolves, is refused, ends: the loop runs dry
    CHECK(lost.empty());
    Listener open;
    lg::probes::TcpWatch held(&loop, "127.0.0.1", open.port);
    held.ensure([&](const char* r) { lost.emplace_back(r); });
    const int fd = accept_one(&loop, open);
    REQUIRE(fd >= 0);
    close(fd);  // the watch is gone before the loop runs again: its end is not reported
  }  // destroyed while connected: closed, no report
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(lost.empty());
  CHECK(uv_loop_close(&loop) == 0);
}

// The HTTP keep-alive watch (HttpWatch): the test's listener plays an HTTP server.
namespace {

// Reads one request (up to its blank line) from `fd`, turning the loop so the watch can send it.
std::string read_request(uv_loop_t* loop, int fd) {
  std::string got;
  run_until(loop, [&] {
    pollfd p{fd, POLLIN, 0};
    char b[512];
    if (poll(&p, 1, 0) == 1) {
      const ssize_t n = ::read(fd, b, sizeof b);
      if (n > 0) got.append(b, static_cast<size_t>(n));
      if (n <= 0) return true;
    }
    return got.find("\r\n\r\n") != std::string::npos;
  });
  return got;
}

void answer(int fd) {
  const std::string r = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 15\r\n\r\n{\"status\":\"ok\"}";
  REQUIRE(::write(fd, r.data(), r.size()) == static_cast<ssize_t>(r.size()));
}

// Accepts the watch's next connection, reads its request and answers it.
int serve_one(uv_loop_t* loop, const Listener& l) {
  const int fd = accept_one(loop, l);
  REQUIRE(fd >= 0);
  const std::string req = read_request(loop, fd);
  CHECK(req.rfind("GET /v1/health/ HTTP/1.1\r\nHost: letta:8283\r\n", 0) == 0);
  CHECK(req.find("onnection: close") == std::string::npos);  // keep-alive: HTTP/1.1's default
  answer(fd);
  return fd;
}

// A few loop turns, a millisecond apart, for what needs no event of the test's to happen.
void turn(uv_loop_t* loop, int turns) {
  for (int i = 0; i < turns; ++i) {
    uv_run(loop, UV_RUN_NOWAIT);
    pollfd none{};
    poll(&none, 0, 1);
  }
}

void rst(int fd) {
  linger lg{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd);
}

}  // namespace

TEST_CASE("http watch: a FIN after the answer is checked with a new connection, quiet when it is answered, a "
          "signal when it is refused",
          "[unit][kit]") {
  uv_loop_t loop;
  uv_loop_init(&loop);
  std::vector<std::string> lost;
  {
    auto l = std::make_unique<Listener>();
    lg::probes::HttpWatch watch(&loop, "127.0.0.1", l->port,
                                lg::probes::HttpWatch::get_request("/v1/health/", "letta:8283"));
    watch.ensure([&](const char* r) { lost.emplace_back(r); });
    int fd = serve_one(&loop, *l);
    close(fd);  // the server's idle close (here at once)
    fd = serve_one(&loop, *l);  // checked: a new connection, answered
    CHECK(lost.empty());
    CHECK(watch.idle_closes() == 1);
    l.reset();  // the server goes: its listener first, then the open connection (FIN)
    close(fd);
    REQUIRE(run_until(&loop, [&] { return !lost.empty(); }));
    CHECK(lost == std::vector<std::string>{"eof"});  // the check was refused: a crash
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("http watch: an RST, and a FIN before any answer, are signals at once, and a server without keep-alive is "
          "given up after a few connections",
          "[unit][kit]") {
  uv_loop_t loop;
  uv_loop_init(&loop);
  Listener l;
  std::vector<std::string> lost;
  {
    lg::probes::HttpWatch watch(&loop, "127.0.0.1", l.port,
                                lg::probes::HttpWatch::get_request("/v1/health/", "letta:8283"));
    watch.ensure([&](const char* r) { lost.emplace_back(r); });
    // The answer read first: an RST in the same poll event as the answer's last bytes is EOF to
    // libuv (POLLHUP after a partial read), which is checked like a FIN.
    const int fd = serve_one(&loop, l);
    turn(&loop, 20);
    rst(fd);
    REQUIRE(run_until(&loop, [&] { return lost.size() == 1; }));
    CHECK(lost.back() == "reset");

    watch.ensure([&](const char* r) { lost.emplace_back(r); });  // as after the re-probe's success
    const int unanswered = accept_one(&loop, l);
    REQUIRE(unanswered >= 0);
    read_request(&loop, unanswered);
    close(unanswered);
    REQUIRE(run_until(&loop, [&] { return lost.size() == 2; }));
    CHECK(lost.back() == "eof");

    // Every connection closed right after its answer: four (the first and three checks), then none
    // until the next success.
    watch.ensure([&](const char* r) { lost.emplace_back(r); });
    for (int i = 0; i < 4; ++i) close(serve_one(&loop, l));
    turn(&loop, 50);
    pollfd p{l.fd, POLLIN, 0};
    CHECK(poll(&p, 1, 0) == 0);  // no fifth connection
    CHECK(lost.size() == 2);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
}
