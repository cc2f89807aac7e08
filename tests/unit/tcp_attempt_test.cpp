// A TCP probe attempt answers later, never from inside start(), even when the process is out of
// file descriptors and the connect fails at once (socket() gives EMFILE). The old TcpConnect
// connected inside start() for an IP literal and called back from there on such a failure, which
// the Probe contract forbids (TcpProbe hid it behind a finished_ flag).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <catch2/catch.hpp>
#include <vector>

#include "probes/tcp_attempt.hpp"

namespace {

// While alive, no new descriptor can be opened: the soft limit is the lowest free fd number.
class NoFreeDescriptors {
 public:
  NoFreeDescriptors() {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    const int lowest_free = ::dup(0);
    ::close(lowest_free);
    rlimit low = saved_;
    low.rlim_cur = static_cast<rlim_t>(lowest_free);
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
  }
  ~NoFreeDescriptors() { restore(); }
  void restore() {
    if (restored_) return;
    restored_ = true;
    ::setrlimit(RLIMIT_NOFILE, &saved_);
  }

 private:
  rlimit saved_{};
  bool restored_ = false;
};

}  // namespace

TEST_CASE("tcp attempt: out of descriptors, start() still answers later, exactly once", "[unit][kit]") {
  uv_loop_t loop;
  uv_loop_init(&loop);
  std::vector<int> statuses;
  {
    NoFreeDescriptors none;
    REQUIRE(::socket(AF_INET, SOCK_STREAM, 0) < 0);  // the condition holds
    lg::probes::TcpAttempt::start(&loop, "127.0.0.1", 9, [&](int status) { statuses.push_back(status); });
    CHECK(statuses.empty());  // never from inside start()
    uv_run(&loop, UV_RUN_NOWAIT);  // the first turn: the connect fails at once
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  REQUIRE(statuses.size() == 1);
  CHECK(statuses[0] == UV_EMFILE);
  CHECK(uv_loop_close(&loop) == 0);  // nothing left open
}
