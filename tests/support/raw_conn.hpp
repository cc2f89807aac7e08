#pragma once
// A blocking loopback TCP client for tests that speak raw bytes (pipelining, slow clients).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

namespace lgtest {

class RawConn {
 public:
  explicit RawConn(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~RawConn() {
    if (fd_ >= 0) close(fd_);
  }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  bool connected() const { return connected_; }
  bool send(const std::string& s) { return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()); }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

  // Reads until `count` occurrences of `marker` arrived, EOF, or the timeout; returns all read.
  std::string read_until(const std::string& marker, int count, int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      if (occurrences(marker) >= count) break;
      if (!read_some(20)) break;
    }
    return data_;
  }
  // Reads until EOF or the timeout; returns true when EOF (peer closed) was seen.
  bool read_to_eof(int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      if (!read_some(20)) return eof_;
    }
    return eof_;
  }
  const std::string& data() const { return data_; }

 private:
  int occurrences(const std::string& m) const {
    int n = 0;
    for (size_t p = data_.find(m); p != std::string::npos; p = data_.find(m, p + m.size())) ++n;
    return n;
  }
  // false on EOF or error
  bool read_some(int wait_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, wait_ms) <= 0) return true;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    data_.append(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string data_;
};

}  // namespace lgtest
