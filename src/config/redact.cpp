#include "config/redact.hpp"

#include <strings.h>

#include <algorithm>
#include <cctype>

#include "config/url.hpp"

namespace lg::config {
namespace {

constexpr auto npos = std::string_view::npos;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

bool word_at(std::string_view s, size_t at, std::string_view word) {
  return s.size() - at >= word.size() && strncasecmp(s.data() + at, word.data(), word.size()) == 0;
}

// "5432" or "5432,host2:5433": the ports of libpq's host list, not a password.
bool is_port_list(std::string_view s) {
  for (size_t from = 0; from <= s.size();) {
    const size_t comma = std::min(s.find(',', from), s.size());
    std::string_view part = s.substr(from, comma - from);
    if (const size_t colon = part.rfind(':'); colon != npos && from > 0) part = part.substr(colon + 1);
    if (!all_digits(part)) return false;
    from = comma + 1;
  }
  return true;
}

void add(std::vector<std::string>& out, std::string_view c) {
  if (c.empty()) return;
  out.emplace_back(c);
  if (std::string decoded = percent_decode(c); decoded != c) out.push_back(std::move(decoded));
}

// scheme://user:password@host..., and scheme://host:PORT where PORT is no number: a password
// written without its '@' (redis://:PASSWORD) reads as a port.
void url_candidates(std::string_view in, std::vector<std::string>& out) {
  for (size_t sep = in.find("://"); sep != npos; sep = in.find("://", sep + 3)) {
    const std::string_view rest = in.substr(sep + 3);
    const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    if (const size_t at = authority.rfind('@'); at != npos) {
      const std::string_view userinfo = authority.substr(0, at);
      if (const size_t colon = userinfo.find(':'); colon != npos) add(out, userinfo.substr(colon + 1));
    } else if (!authority.empty() && authority.front() != '[') {
      const size_t colon = authority.find(':');
      if (colon != npos && !is_port_list(authority.substr(colon + 1))) add(out, authority.substr(colon + 1));
    }
    if (const size_t at = rest.rfind('@'); at != npos) {  // the wide reading: up to the last '@'
      const std::string_view userinfo = rest.substr(0, at);
      if (const size_t colon = userinfo.find(':'); colon != npos) add(out, userinfo.substr(colon + 1));
    }
  }
}

// ?password=...& in a URL's query (also sslpassword).
void query_candidates(std::string_view in, std::vector<std::string>& out) {
  for (size_t i = 0; i < in.size(); ++i) {
    if ((in[i] == '?' || in[i] == '&') && (word_at(in, i + 1, "password=") || word_at(in, i + 1, "sslpassword="))) {
      const size_t from = in.find('=', i) + 1;
      add(out, in.substr(from, std::min(in.find_first_of("&#", from), in.size()) - from));
    }
  }
}

// The end of a single-quoted value starting at `at` (backslash escapes a character), or npos.
size_t quoted_end(std::string_view s, size_t at) {
  for (size_t i = at + 1; i < s.size(); ++i) {
    if (s[i] == '\'') return i + 1;
    if (s[i] == '\\') ++i;
  }
  return npos;
}

std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out += s[i];
  }
  return out;
}

// Where the next ` keyword=` starts after `from`, or the end: an unquoted password with a space
// in it runs on to there in the user's mind, while libpq stops at the space.
size_t next_keyword(std::string_view s, size_t from) {
  for (size_t i = from; i < s.size(); ++i) {
    if (!is_space(s[i])) continue;
    size_t j = i;
    while (j < s.size() && is_space(s[j])) ++j;
    size_t k = j;
    while (k < s.size() && (std::isalpha(static_cast<unsigned char>(s[k])) || s[k] == '_')) ++k;
    while (k < s.size() && is_space(s[k])) ++k;
    if (k > j && k < s.size() && s[k] == '=') return i;
  }
  return s.size();
}

// password = value (key=value form; also sslpassword), quoted or not, closed or not.
void keyword_candidates(std::string_view in, std::vector<std::string>& out) {
  for (size_t i = 0; i < in.size(); ++i) {
    if (!word_at(in, i, "password")) continue;
    size_t j = i + 8;
    while (j < in.size() && is_space(in[j])) ++j;
    if (j >= in.size() || in[j] != '=') continue;
    ++j;
    while (j < in.size() && is_space(in[j])) ++j;
    if (j < in.size() && in[j] == '\'') {
      const size_t end = quoted_end(in, j);
      const std::string_view inner = end == npos ? in.substr(j + 1) : in.substr(j + 1, end - j - 2);
      add(out, inner);
      add(out, unescape(inner));
      continue;
    }
    size_t end = j;
    while (end < in.size() && !is_space(in[end])) ++end;
    add(out, in.substr(j, end - j));
    const size_t wide = next_keyword(in, j);
    if (wide > end) add(out, in.substr(j, wide - j));
  }
}

// user:password@host without a scheme (a forward target written like a URL's authority), starting
// at the input's start or after '=', ',' or a space: the password may hold any of those, so each
// start is tried. A number there is a port (LISTEN=host:8283@letta), and "PORT=..." is the rest
// of a LISTEN=UPSTREAM route: neither is a password.
void bare_userinfo_candidates(std::string_view in, std::vector<std::string>& out) {
  for (size_t at = in.find('@'); at != npos; at = in.find('@', at + 1)) {
    for (size_t b = 0; b < at; ++b) {
      if (b > 0 && in[b - 1] != '=' && in[b - 1] != ',' && !is_space(in[b - 1])) continue;
      const std::string_view seg = in.substr(b, at - b);
      const size_t colon = seg.find(':');
      if (colon == npos || seg.substr(0, colon).find_first_of("=, \t") != npos) continue;
      const std::string_view pw = seg.substr(colon + 1);
      size_t digits = 0;
      while (digits < pw.size() && std::isdigit(static_cast<unsigned char>(pw[digits]))) ++digits;
      if (digits == pw.size() || (digits > 0 && pw[digits] == '=')) continue;
      add(out, pw);
    }
  }
}

// The parts of a password between characters libpq and URLs split on: a message may quote one.
void add_pieces(std::vector<std::string>& secrets) {
  const std::string_view delims = " \t\r\n'\"\\/@:?&=,;%#";
  const size_t n = secrets.size();
  for (size_t i = 0; i < n; ++i) {
    const std::string s = secrets[i];
    for (size_t b = 0; b < s.size();) {
      size_t e = s.find_first_of(delims, b);
      if (e == std::string::npos) e = s.size();
      if (e > b && e - b < s.size()) secrets.push_back(s.substr(b, e - b));
      b = e + 1;
    }
  }
}

void replace_all(std::string& text, std::string_view what, std::string_view with) {
  if (what.empty()) return;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + with.size()))
    text.replace(at, what.size(), with);
}

}  // namespace

std::vector<std::string> password_candidates(std::string_view input) {
  std::vector<std::string> out;
  url_candidates(input, out);
  query_candidates(input, out);
  keyword_candidates(input, out);
  bare_userinfo_candidates(input, out);
  return out;
}

std::string redact_message(std::string message, std::string_view input, const RedactOptions& opts) {
  if (input.empty() || message.empty()) return message;
  std::vector<std::string> secrets;
  if (opts.whole_input_secret) {
    secrets.emplace_back(input);
  } else {
    if (const std::string shown = redact_dsn(input); shown != input) replace_all(message, input, shown);
    secrets = password_candidates(input);
  }
  if (opts.pieces) add_pieces(secrets);
  auto skip = [&opts](const std::string& s) {
    if (s.size() < 3 || s.find_first_not_of('*') == std::string::npos) return true;
    return std::find(opts.public_words.begin(), opts.public_words.end(), s) != opts.public_words.end();
  };
  secrets.erase(std::remove_if(secrets.begin(), secrets.end(), skip), secrets.end());
  // Longest first: a password's pieces must not break up the password itself before it is found.
  std::sort(secrets.begin(), secrets.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() > b.size() : a < b;
  });
  secrets.erase(std::unique(secrets.begin(), secrets.end()), secrets.end());
  for (const auto& s : secrets) replace_all(message, s, "***");
  return message;
}

}  // namespace lg::config
