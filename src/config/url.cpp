#include "config/url.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <strings.h>

#include "core/host_port.hpp"

namespace lg::config {
namespace {

bool fail(std::string* why, std::string msg) {
  if (why) *why = std::move(msg);
  return false;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
      out += static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2]));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

std::string Url::host_port() const {
  return port ? fmt::format("{}:{}", core::bracket_host(host), port) : core::bracket_host(host);
}

std::string Url::path_to(const std::string& sub) const {
  std::string base = path;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + sub;
}

std::string Url::target() const {
  std::string t = path.empty() ? "/" : path;
  if (!query.empty()) t += "?" + query;
  return t;
}

std::string Url::redacted() const {
  std::string out = scheme + "://";
  if (!user.empty() || has_password) {
    out += user;
    if (has_password) out += ":***";
    out += "@";
  }
  out += host_port();
  out += path;
  if (!query.empty()) out += "?" + query;
  return out;
}

std::optional<Url> parse_url(std::string_view text, std::string* why) {
  Url url;
  auto sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    fail(why, "not a URL (expected scheme://host[:port][/path])");
    return std::nullopt;
  }
  url.scheme = std::string(text.substr(0, sep));
  std::transform(url.scheme.begin(), url.scheme.end(), url.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  auto rest = text.substr(sep + 3);
  auto path_start = rest.find_first_of("/?");
  auto authority = rest.substr(0, path_start);
  auto tail = path_start == std::string_view::npos ? std::string_view{} : rest.substr(path_start);

  auto at = authority.rfind('@');
  // A '/' or '?' inside a password ends the authority early; the rest of the password would
  // become host, port or path, and be printed. Refuse the URL instead, without echoing it.
  if (at == std::string_view::npos && tail.find('@') != std::string_view::npos) {
    fail(why, "'@' after the host: percent-encode '/', '?' and '@' in a user name or password (%2F %3F %40)");
    return std::nullopt;
  }
  if (at != std::string_view::npos) {
    auto userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    auto colon = userinfo.find(':');
    url.user = percent_decode(userinfo.substr(0, colon));
    if (colon != std::string_view::npos) {
      url.password = percent_decode(userinfo.substr(colon + 1));
      url.has_password = true;
    }
  }
  if (!core::split_host_port(authority, url.host, url.port, false, why)) return std::nullopt;
  auto q = tail.find('?');
  url.path = std::string(tail.substr(0, q));
  if (q != std::string_view::npos) url.query = std::string(tail.substr(q + 1));
  for (char c : tail) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      fail(why, "whitespace in URL path");
      return std::nullopt;
    }
  }
  return url;
}

// scheme://user:password@... -> scheme://user:***@..., by text alone, for a URL parse_url refused
// (the error message still shows what was given). The last '@' ends the userinfo: a password may
// hold '/' or '@'; masking too much is harmless, too little is a leak.
namespace {
std::string mask_userinfo(std::string_view url) {
  std::string out(url);
  const size_t start = out.find("://") + 3;
  const size_t at = out.rfind('@');
  const size_t colon = out.find(':', start);
  if (at == std::string::npos || at < start || colon == std::string::npos || colon > at) return out;
  out.replace(colon + 1, at - colon - 1, "***");
  return out;
}
}  // namespace

// Hand-written scanners rather than std::regex: a regex is compiled at first use, which
// touches much of libstdc++'s locale machinery for two fixed patterns (start-up time and
// resident memory). tests/unit/url_test.cpp checks them against the regexes they replace.
namespace {

bool starts_with_nocase(std::string_view s, size_t at, std::string_view word) {
  return s.size() - at >= word.size() && strncasecmp(s.data() + at, word.data(), word.size()) == 0;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

// A query's password=... parameters (any case, at the start or after '?' or '&'), up to the
// next '&', become password=***: the pattern (^|[?&])password=[^&]* -> $1password=***.
std::string mask_query_passwords(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const bool boundary = i == 0 || s[i - 1] == '?' || s[i - 1] == '&';
    if (boundary && starts_with_nocase(s, i, "password=")) {
      out += "password=***";
      i = std::min(s.find('&', i), s.size());
      continue;
    }
    out += s[i++];
  }
  return out;
}

// The end of a single-quoted value starting at `at` (backslash escapes any character but a
// line break), or npos when it is not closed.
size_t quoted_end(std::string_view s, size_t at) {
  for (size_t i = at + 1; i < s.size(); ++i) {
    if (s[i] == '\'') return i + 1;
    if (s[i] == '\\') {
      if (i + 1 >= s.size() || s[i + 1] == '\n' || s[i + 1] == '\r') return std::string_view::npos;
      ++i;
    }
  }
  return std::string_view::npos;
}

// key=value form: password<ws>=<ws>VALUE, VALUE quoted ('...') or a run of non-spaces,
// becomes password<ws>=<ws>***: the pattern (password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+) -> $1***.
std::string mask_keyword_passwords(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (starts_with_nocase(s, i, "password")) {
      size_t j = i + 8;
      while (j < s.size() && is_space(s[j])) ++j;
      if (j < s.size() && s[j] == '=') {
        ++j;
        while (j < s.size() && is_space(s[j])) ++j;
        size_t end = j < s.size() && s[j] == '\'' ? quoted_end(s, j) : std::string_view::npos;
        if (end == std::string_view::npos) {
          end = j;
          while (end < s.size() && !is_space(s[end])) ++end;
        }
        if (end > j) {
          out.append(s.substr(i, j - i));
          out += "***";
          i = end;
          continue;
        }
      }
    }
    out += s[i++];
  }
  return out;
}

}  // namespace

std::string redact_dsn(std::string_view dsn) {
  if (dsn.find("://") != std::string_view::npos) {
    auto url = parse_url(dsn);
    // Query parameters may carry password=... too.
    return mask_query_passwords(url ? url->redacted() : mask_userinfo(dsn));
  }
  return mask_keyword_passwords(dsn);
}

}  // namespace lg::config
