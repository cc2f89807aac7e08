#pragma once
#include <cstdint>

namespace lgtest {

// Bytes the TCP socket `fd` has received from its peer, read or not (TCP_INFO); 0 when unknown.
uint64_t tcp_bytes_received(int fd);

}  // namespace lgtest
