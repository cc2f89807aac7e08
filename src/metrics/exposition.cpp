#include "metrics/exposition.hpp"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace lg::metrics {
namespace {

// Counters and most gauges are whole: integer digits, no floating-point formatting. Null when
// v is not a whole number below 1e15.
char* write_whole(char* buf, double v) {
  if (!(std::fabs(v) < 1e15)) return nullptr;  // NaN too
  const auto whole = static_cast<int64_t>(v);
  if (static_cast<double>(whole) != v) return nullptr;
  return std::to_chars(buf, buf + kMaxValueLine, whole).ptr;
}

char* write_fraction(char* buf, double v) {
  if (std::isnan(v)) return write_text(buf, "NaN");
  if (std::isinf(v)) return write_text(buf, v > 0 ? "+Inf" : "-Inf");
  return fmt::format_to(buf, FMT_COMPILE("{}"), v);  // at most 24 characters
}

// The text of v at buf (at least kMaxValueLine bytes); returns the end.
char* write_value(char* buf, double v) {
  if (char* end = write_whole(buf, v)) return end;
  return write_fraction(buf, v);
}

}  // namespace

std::string escape_label_value(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string escape_help(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string format_value(double v) {
  char buf[kMaxValueLine];
  return std::string(buf, write_value(buf, v));
}

char* write_value_line(char* p, double v, ValueMemo& memo) {
  if (char* end = write_whole(p, v)) {
    *end++ = '\n';
    return end;
  }
  if (memo.len == 0 || !(memo.value == v)) {
    memo.len = static_cast<uint8_t>(write_fraction(memo.text, v) - memo.text);
    memo.value = v;
  }
  p = write_text(p, std::string_view(memo.text, memo.len));
  *p++ = '\n';
  return p;
}

char* write_count_line(char* p, uint64_t v) {
  p = std::to_chars(p, p + kMaxValueLine, v).ptr;
  *p++ = '\n';
  return p;
}

}  // namespace lg::metrics
