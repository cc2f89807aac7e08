#include "config/value_parsers.hpp"

#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>

#include "config/redact.hpp"
#include "core/net_address.hpp"

namespace lg::config {

bool is_off(const std::string& v) { return v.empty() || v == "off"; }

std::optional<bool> parse_bool(std::string v) {
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  return std::nullopt;
}

std::optional<long> parse_int(const std::string& v, long lo, long hi) {
  if (v.empty() || v.size() > 10) return std::nullopt;
  long n = 0;
  for (char c : v) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n < lo || n > hi) return std::nullopt;
  return n;
}

std::vector<std::string> split_list(const std::string& v) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= v.size()) {
    size_t comma = std::min(v.find(',', start), v.size());
    const std::string item = v.substr(start, comma - start);
    auto b = item.find_first_not_of(" \t");
    auto e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
    start = comma + 1;
  }
  return out;
}

// lettagate sends nothing from a URL's userinfo: a user:password given there would silently
// never reach Letta, and the probe would fail on a 401 far from the cause. Refused, and shown
// without them.
std::optional<std::string> refuse_credentials(const Url& u) {
  if (u.user.empty() && !u.has_password) return std::nullopt;
  Url shown = u;
  shown.user.clear();
  shown.password.clear();
  shown.has_password = false;
  return fmt::format("'{}' with a user or password: credentials in the URL are not sent; for a Letta with "
                     "LETTA_SERVER_SECURE give its password with --letta-token or --letta-token-file",
                     shown.redacted());
}

std::optional<std::string> parse_http_url(const std::string& v, Url& out, bool& enabled) {
  if (is_off(v)) {
    enabled = false;
    return std::nullopt;
  }
  std::string why;
  auto u = parse_url(v, &why);
  if (!u) return fmt::format("'{}': {}", redact_dsn(v), why);
  if (u->scheme != "http") {
    return fmt::format("'{}': scheme '{}' is not supported (use http://)", u->redacted(), u->scheme);
  }
  if (auto err = refuse_credentials(*u)) return err;
  if (u->port == 0) u->port = 80;
  enabled = true;
  out = *u;
  return std::nullopt;
}

std::optional<std::string> parse_method(const std::string& v, std::string& out) {
  static const char* kMethods[] = {"GET", "HEAD", "POST", "PUT", "OPTIONS"};
  for (auto* m : kMethods) {
    if (v == m) {
      out = v;
      return std::nullopt;
    }
  }
  return fmt::format("'{}' is not one of GET, HEAD, POST, PUT, OPTIONS", v);
}

std::optional<std::string> parse_path(const std::string& v, std::string& out) {
  if (v.empty() || v.front() != '/') return fmt::format("'{}' must start with '/'", v);
  out = v;
  return std::nullopt;
}

std::optional<std::string> parse_jitter(const std::string& v, double& out) {
  auto n = parse_int(v, 0, 50);
  if (!n) return fmt::format("'{}' is not a percentage from 0 to 50", v);
  out = static_cast<double>(*n) / 100.0;
  return std::nullopt;
}

std::optional<std::string> require_ip(const core::HostPort& hp, const std::string& what) {
  if (core::parse_ip_literal(hp.host, hp.port)) return std::nullopt;
  return fmt::format("'{}' is not an IP address: {} binds an address, not a name (e.g. 0.0.0.0, 127.0.0.1, [::])",
                     hp.host, what);
}

// Checked on Linux: SO_REUSEADDR does not let a second socket share a listening port, so the
// same address and port clash, and so does a wildcard of the same port that covers the other.
// The forwarder's [::] is IPv6 only (IPV6_V6ONLY); the health server's [::] is dual-stack.
bool listens_overlap(const core::HostPort& a, bool a_dual_stack, const core::HostPort& b, bool b_dual_stack) {
  if (a.port != b.port) return false;
  const auto sa = core::parse_ip_literal(a.host, a.port);
  const auto sb = core::parse_ip_literal(b.host, b.port);
  if (!sa || !sb) return false;
  const std::string ta = core::ip_text(*sa), tb = core::ip_text(*sb);
  auto covers = [](const std::string& wildcard, bool dual, const sockaddr_storage& other) {
    if (wildcard == "0.0.0.0") return other.ss_family == AF_INET;
    if (wildcard == "::") return other.ss_family == AF_INET6 || dual;
    return false;
  };
  return ta == tb || covers(ta, a_dual_stack, *sb) || covers(tb, b_dual_stack, *sa);
}

}  // namespace lg::config
