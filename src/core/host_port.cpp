#include "core/host_port.hpp"

#include <fmt/format.h>

#include <cctype>

namespace lg::core {
namespace {

bool fail(std::string* why, std::string msg) {
  if (why) *why = std::move(msg);
  return false;
}

std::optional<uint16_t> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  unsigned v = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v == 0 || v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

}  // namespace

std::string bracket_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

bool split_host_port(std::string_view hp, std::string& host, uint16_t& port, bool port_required, std::string* why) {
  std::string_view port_text;
  if (!hp.empty() && hp.front() == '[') {
    auto close = hp.find(']');
    if (close == std::string_view::npos) return fail(why, "unclosed '[' in IPv6 address");
    host = std::string(hp.substr(1, close - 1));
    auto rest = hp.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return fail(why, "expected ':' after ']'");
      port_text = rest.substr(1);
    }
  } else {
    auto colon = hp.rfind(':');
    if (colon != std::string_view::npos) {
      if (hp.find(':') != colon) return fail(why, "IPv6 addresses need brackets, e.g. [::1]:8080");
      host = std::string(hp.substr(0, colon));
      port_text = hp.substr(colon + 1);
    } else {
      host = std::string(hp);
    }
  }
  if (host.empty()) return fail(why, "missing host");
  for (char c : host) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '/' || c == '@')
      return fail(why, fmt::format("invalid character in host '{}'", host));
  }
  port = 0;
  if (!port_text.empty() || (hp.find(':') != std::string_view::npos && hp.front() != '[')) {
    auto p = parse_port(port_text);
    if (!p) return fail(why, fmt::format("invalid port '{}' (1-65535)", port_text));
    port = *p;
  }
  if (port_required && port == 0) return fail(why, "missing port");
  return true;
}

std::string HostPort::str() const { return fmt::format("{}:{}", bracket_host(host), port); }

std::optional<HostPort> parse_host_port(std::string_view text, std::string* why) {
  HostPort hp;
  if (!split_host_port(text, hp.host, hp.port, true, why)) return std::nullopt;
  return hp;
}

}  // namespace lg::core
