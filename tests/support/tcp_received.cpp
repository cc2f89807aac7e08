// Its own file: the kernel's struct tcp_info (linux/tcp.h), which counts the bytes a socket
// received, cannot share a file with glibc's netinet/tcp.h (uv.h brings it in), which lacks them.
#include "support/tcp_received.hpp"

#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace lgtest {

uint64_t tcp_bytes_received(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return 0;
  return info.tcpi_bytes_received;
}

}  // namespace lgtest
