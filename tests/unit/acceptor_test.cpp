// The Acceptor (the health server's and every route's) on a real loop, 127.0.0.1 only: out of
// descriptors it pauses accepting (the client waits in the kernel's backlog, not dropped as
// uv_listen's reserve-fd trick does) and takes the client once descriptors are back; at most
// per_turn clients are accepted per loop turn.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <catch2/catch.hpp>
#include <vector>

#include "core/acceptor.hpp"

namespace {

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);  // the kernel completes it
  return fd;
}

struct Accepted {
  std::vector<int> fds;
  std::vector<int> errors;
  ~Accepted() {
    for (int fd : fds) ::close(fd);
  }
};

lg::core::Acceptor* open_acceptor(uv_loop_t* loop, Accepted& got, int per_turn) {
  lg::core::Acceptor::Options o;
  o.name = "test";
  o.log_component = "test";
  o.per_turn = per_turn;
  std::string error;
  auto* a = lg::core::Acceptor::open(
      loop, lg::core::HostPort{"127.0.0.1", 0}, o, [&got](int fd) { got.fds.push_back(fd); },
      [&got](int status) { got.errors.push_back(status); }, &error);
  INFO(error);
  REQUIRE(a != nullptr);
  return a;
}

}  // namespace

TEST_CASE("acceptor: out of descriptors it pauses, and takes the waiting client once they are back", "[unit][kit]") {
  uv_loop_t loop;
  uv_loop_init(&loop);
  Accepted got;
  lg::core::Acceptor* acceptor = open_acceptor(&loop, got, 16);
  const int client = connect_to(acceptor->port());
  {
    rlimit saved{};
    ::getrlimit(RLIMIT_NOFILE, &saved);
    const int lowest_free = ::dup(0);
    ::close(lowest_free);
    rlimit low = saved;
    low.rlim_cur = static_cast<rlim_t>(lowest_free);
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
    uv_run(&loop, UV_RUN_NOWAIT);  // readable: accept4 gives EMFILE
    ::setrlimit(RLIMIT_NOFILE, &saved);
  }
  REQUIRE(got.errors.size() == 1);
  CHECK(got.errors[0] == UV_EMFILE);
  CHECK(acceptor->paused());
  CHECK(got.fds.empty());
  // The back-off timer (100 ms) resumes polling; the client is still in the backlog.
  while (got.fds.empty() && uv_run(&loop, UV_RUN_ONCE) != 0) {
  }
  CHECK(got.fds.size() == 1);
  CHECK_FALSE(acceptor->paused());
  acceptor->close();
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);  // nothing left open
  ::close(client);
}

TEST_CASE("acceptor: at most per_turn clients per loop turn, the rest on later turns", "[unit][kit]") {
  uv_loop_t loop;
  uv_loop_init(&loop);
  Accepted got;
  lg::core::Acceptor* acceptor = open_acceptor(&loop, got, 2);
  std::vector<int> clients;
  for (int i = 0; i < 5; ++i) clients.push_back(connect_to(acceptor->port()));
  std::vector<size_t> per_turn;
  while (got.fds.size() < clients.size()) {
    const size_t before = got.fds.size();
    uv_run(&loop, UV_RUN_ONCE);
    per_turn.push_back(got.fds.size() - before);
  }
  for (size_t n : per_turn) CHECK(n <= 2);
  CHECK(got.fds.size() == 5);
  acceptor->close();
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
  for (int fd : clients) ::close(fd);
}
