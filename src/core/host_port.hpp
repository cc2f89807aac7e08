#pragma once
// host:port as settings, logs and listeners use it: IPv6 literals in brackets ([::1]:8080),
// names as they are. Here, below config and http, so the HTTP server and the forwarder take an
// address without depending on the configuration.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lg::core {

// host:port (IPv6 as [::1]:port); port required.
struct HostPort {
  std::string host;
  uint16_t port = 0;
  std::string str() const;
};
std::optional<HostPort> parse_host_port(std::string_view text, std::string* why = nullptr);

// Splits "host[:port]" / "[v6][:port]" into host (without brackets) and port (0 when absent).
// With `port_required`, a missing port is an error. On failure sets `why`.
bool split_host_port(std::string_view text, std::string& host, uint16_t& port, bool port_required, std::string* why);

// The host as it stands before ":port": IPv6 literals in brackets.
std::string bracket_host(const std::string& host);

}  // namespace lg::core
