#pragma once
// Socket addresses, the pieces every client here shares (the HTTP client, the TCP connect
// probe, the Postgres and Redis probes, the forwarder's resolver): an IP literal skips DNS, a
// name goes through uv_getaddrinfo with tcp_lookup_hints(), and the answer becomes a list of
// addresses in getaddrinfo's order.
#include <netdb.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lg::core {

// A name's addresses in getaddrinfo's order, shared (a resolver's cached answer is handed to
// every session that connects with it).
using AddressList = std::vector<sockaddr_storage>;
using Addresses = std::shared_ptr<const AddressList>;

// host as an IPv4 or IPv6 literal, with the port; nullopt when it is a name to resolve.
std::optional<sockaddr_storage> parse_ip_literal(const std::string& host, uint16_t port);

// Hints for uv_getaddrinfo: a TCP stream over IPv4 or IPv6.
addrinfo tcp_lookup_hints();

// The IPv4 and IPv6 addresses of a getaddrinfo answer, in its order (others are skipped).
std::vector<sockaddr_storage> answer_addresses(const addrinfo* res);

// The IP alone, as text: "127.0.0.1", "::1".
std::string ip_text(const sockaddr_storage& a);

// IP and port: "127.0.0.1:8283", "[::1]:8283".
std::string format_address(const sockaddr_storage& a);

}  // namespace lg::core
