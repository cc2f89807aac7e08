#include "core/net_address.hpp"

#include <fmt/format.h>
#include <uv.h>

#include <cstring>

namespace lg::core {

std::optional<sockaddr_storage> parse_ip_literal(const std::string& host, uint16_t port) {
  sockaddr_storage addr{};
  if (uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr)) == 0 ||
      uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr)) == 0) {
    return addr;
  }
  return std::nullopt;
}

addrinfo tcp_lookup_hints() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  return hints;
}

std::vector<sockaddr_storage> answer_addresses(const addrinfo* res) {
  std::vector<sockaddr_storage> out;
  for (const addrinfo* a = res; a != nullptr; a = a->ai_next) {
    if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
    sockaddr_storage s{};
    std::memcpy(&s, a->ai_addr, a->ai_addrlen);
    out.push_back(s);
  }
  return out;
}

std::string ip_text(const sockaddr_storage& a) {
  char ip[INET6_ADDRSTRLEN] = "?";
  if (a.ss_family == AF_INET6) {
    uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(&a), ip, sizeof ip);
  } else {
    uv_ip4_name(reinterpret_cast<const sockaddr_in*>(&a), ip, sizeof ip);
  }
  return ip;
}

std::string format_address(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET6) {
    return fmt::format("[{}]:{}", ip_text(a), ntohs(reinterpret_cast<const sockaddr_in6*>(&a)->sin6_port));
  }
  return fmt::format("{}:{}", ip_text(a), ntohs(reinterpret_cast<const sockaddr_in*>(&a)->sin_port));
}

}  // namespace lg::core
