#pragma once
// URLs as lettagate's settings use them (http, redis, postgresql) and the redaction rule that
// keeps their passwords out of every log line, page and error.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lg::config {

struct Url {
  std::string scheme;    // lower-case: http, https, redis, postgresql, ...
  std::string user;      // percent-decoded
  std::string password;  // percent-decoded; never print it
  bool has_password = false;
  std::string host;      // IPv6 literals without brackets
  uint16_t port = 0;     // 0 when the URL names none
  std::string path;      // "/..." or empty
  std::string query;     // without '?'

  // host:port for logs, with [] around IPv6 literals.
  std::string host_port() const;
  // The URL with the password replaced by "***".
  std::string redacted() const;
  // path + (query ? "?" + query : ""), at least "/".
  std::string target() const;
  // `sub` (a path from "/") under this URL's path, its trailing slashes dropped: a server
  // mounted under a prefix (http://proxy/letta/ + /v1/health/ = /letta/v1/health/).
  std::string path_to(const std::string& sub) const;
};

// Parses scheme://[user[:password]@]host[:port][/path][?query]. On failure returns nullopt and
// sets `why`, which never contains the password.
std::optional<Url> parse_url(std::string_view text, std::string* why = nullptr);

// Redacts a Postgres connection string in either form (URL or key=value) for display.
std::string redact_dsn(std::string_view dsn);

std::string percent_decode(std::string_view in);

}  // namespace lg::config
