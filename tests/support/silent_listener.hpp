#pragma once
// A loopback listener on a port of its own (bound to port 0) that never accepts: connects
// complete in the kernel's backlog and then no byte ever comes back, so a client's handshake
// (libpq's, hiredis', an HTTP request) hangs. The test can look at what a client sent with
// drain_client().
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "support/test_env.hpp"

namespace lgtest {

class SilentListener {
 public:
  explicit SilentListener(int backlog = 64) {
    fd_ = bind_loopback(&port_);
    REQUIRE(listen(fd_, backlog) == 0);
  }
  ~SilentListener() { close(fd_); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;

  int port() const { return port_; }

  // True once a connection is waiting (the listening socket reads as ready), within `ms`.
  bool connected(int ms) const {
    pollfd p{fd_, POLLIN, 0};
    return poll(&p, 1, ms) == 1;
  }

  // Accepts the waiting connection and reads until EOF: the bytes the client sent before it
  // closed its socket, "no connection" when none came within `ms`, or "timeout" when it is
  // still open after `ms`.
  std::string drain_client(int ms) {
    if (!connected(ms)) return "no connection";
    const int c = accept(fd_, nullptr, nullptr);
    std::string got;
    char buf[256];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd q{c, POLLIN, 0};
      if (poll(&q, 1, 50) != 1) continue;
      const ssize_t n = read(c, buf, sizeof buf);
      if (n <= 0) {
        close(c);
        return got;
      }
      got.append(buf, static_cast<size_t>(n));
    }
    close(c);
    return "timeout";
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace lgtest
