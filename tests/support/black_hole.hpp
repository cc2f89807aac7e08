#pragma once
// A loopback listener whose accept queue is full (backlog 0, never accepted, already holding
// connections): further SYNs are dropped, so connecting to it hangs: a black hole (a host that
// does not answer) that needs no routing tricks.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <vector>

#include "support/silent_listener.hpp"

namespace lgtest {

class BlackHole {
 public:
  BlackHole() : listener_(0) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(listener_.port()));
    // Fill the queue: connect (non-blocking) until one stays pending.
    for (int i = 0; i < 8; ++i) {
      const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      const int rc = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
      fillers_.push_back(fd);
      if (rc != 0 && errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        if (poll(&p, 1, 300) == 0) return;  // this one hangs: the queue is full
      }
    }
    FAIL("could not fill the accept queue of a backlog-0 listener");
  }
  ~BlackHole() {
    for (int fd : fillers_) close(fd);
  }
  BlackHole(const BlackHole&) = delete;
  BlackHole& operator=(const BlackHole&) = delete;

  int port() const { return listener_.port(); }

 private:
  SilentListener listener_;
  std::vector<int> fillers_;
};

}  // namespace lgtest
