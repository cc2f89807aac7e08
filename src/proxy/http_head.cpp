#include "proxy/http_head.hpp"

namespace lg::proxy::http_head {

namespace {

constexpr size_t kMaxMethod = 20;
constexpr uint64_t kMaxLength = uint64_t{1} << 56;  // a body no one sends

bool is_space(char c) { return c == ' ' || c == '\t'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Names and codings compared case-insensitively, 8 bytes at a time: OR-ing 0x20 lowers letters
// and leaves '-' alone (it also maps a few bytes no valid name holds onto others: a malformed
// name can only mislead the view of its own session).
bool same_name(const char* a, const char* lower, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x, y;
    std::memcpy(&x, a + i, 8);
    std::memcpy(&y, lower + i, 8);
    if ((x | 0x2020202020202020ULL) != y) return false;
  }
  for (; i < n; ++i) {
    if ((a[i] | 0x20) != lower[i]) return false;
  }
  return true;
}

// A header value without the whitespace around it.
void trim(const char*& v, const char*& end) {
  while (v < end && is_space(*v)) ++v;
  while (end > v && is_space(end[-1])) --end;
}

bool content_length(Framing& f, const char* v, const char* end) {
  trim(v, end);
  if (v == end) return false;
  uint64_t n = 0;
  for (; v < end; ++v) {
    if (!is_digit(*v) || n >= kMaxLength) return false;
    n = n * 10 + static_cast<uint64_t>(*v - '0');
  }
  if (f.content_length >= 0 && static_cast<uint64_t>(f.content_length) != n) return false;
  f.content_length = static_cast<int64_t>(n);
  return true;
}

void transfer_encoding(Framing& f, const char* v, const char* end) {
  for (const char* comma; (comma = static_cast<const char*>(std::memchr(v, ',', static_cast<size_t>(end - v))));) {
    v = comma + 1;  // the last coding decides
  }
  trim(v, end);
  f.chunked = end - v == 7 && same_name(v, "chunked", 7);
  f.te_other = !f.chunked;
}

}  // namespace

bool request_line(const char* l, size_t len, bool cut, bool* head) {
  size_t m = 0;
  while (m < len && m <= kMaxMethod && ((l[m] >= 'A' && l[m] <= 'Z') || l[m] == '-' || l[m] == '_')) ++m;
  if (m == 0 || m > kMaxMethod || m >= len || l[m] != ' ') return false;
  if ((m == 7 && std::memcmp(l, "CONNECT", 7) == 0) || (m == 3 && std::memcmp(l, "PRI", 3) == 0)) return false;
  // The version, unless a long target left only the line's start.
  if (!cut && (len < m + 10 || std::memcmp(l + len - 9, " HTTP/1.", 8) != 0 || (l[len - 1] != '0' && l[len - 1] != '1'))) {
    return false;
  }
  *head = m == 4 && std::memcmp(l, "HEAD", 4) == 0;
  return true;
}

int status_line(const char* l, size_t len) {
  if (len < 12 || std::memcmp(l, "HTTP/1.", 7) != 0 || (l[7] != '0' && l[7] != '1') || l[8] != ' ' ||
      !is_digit(l[9]) || !is_digit(l[10]) || !is_digit(l[11]) || (len > 12 && l[12] != ' ')) {
    return -1;
  }
  return (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
}

// A line is compared only when its first letter and the place of its colon fit a name.
bool header(Framing& f, const char* l, size_t len, bool cut, bool request) {
  const char first = l[0];
  if (is_space(first)) return false;  // an obsolete folded line
  if ((first == 'C' || first == 'c') && len > 14 && l[14] == ':' && same_name(l, "content-length", 14)) {
    return !cut && content_length(f, l + 15, l + len);
  }
  if ((first == 'T' || first == 't') && len > 17 && l[17] == ':' && same_name(l, "transfer-encoding", 17)) {
    if (cut) return false;
    transfer_encoding(f, l + 18, l + len);
    return true;
  }
  if ((first == 'U' || first == 'u') && request && len > 7 && l[7] == ':' && same_name(l, "upgrade", 7)) {
    return false;  // the server may switch protocols
  }
  return true;
}

}  // namespace lg::proxy::http_head
