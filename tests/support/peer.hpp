#pragma once
// A loopback socket for tests that drive the code under test on their own TestLoop: it never
// blocks (pump() takes what has arrived), so the test thread runs the loop in between.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <string>

#include "support/test_loop.hpp"

namespace lgtest {

struct Peer {
  int fd = -1;
  std::string got;
  bool eof = false;

  Peer() = default;
  // Connected to 127.0.0.1:port (completes in the listener's backlog: no loop needed).
  explicit Peer(int port) {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~Peer() {
    if (fd >= 0) close(fd);
  }
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  void send(const std::string& bytes) {
    REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
  }
  // Runs `loop` until `done()` holds of what has arrived (pumped after each turn); false after 5 s.
  bool wait(TestLoop& loop, const std::function<bool()>& done) {
    return loop.run_until(
        [&] {
          pump();
          return done();
        },
        std::chrono::milliseconds(5000));
  }
  // Takes what can be read now, without waiting; notes EOF.
  void pump() {
    char buf[4096];
    for (;;) {
      const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        got.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) eof = true;
      return;
    }
  }
};

}  // namespace lgtest
