#pragma once
// The Prometheus text format (0.0.4) piece by piece: escaping, sample values, and the raw
// writes a scrape renders with. A scrape writes through a char pointer into a buffer sized
// for the worst case beforehand, so each piece is one memcpy or one number conversion.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace lg::metrics {

std::string escape_label_value(const std::string& v);
std::string escape_help(const std::string& v);

// A value's text: whole numbers as integers, NaN, +Inf, -Inf, else the shortest form that
// reads back the same (fmt's "{}").
std::string format_value(double v);

// Room a value line needs after its series text: the value and the newline.
constexpr size_t kMaxValueLine = 33;

// The text of the last fractional value a series showed. Durations and sums stay the same
// across many scrapes (they change when a probe runs), and their shortest-form formatting is
// the dearest part of a scrape, so each series keeps its last text for the next one.
struct ValueMemo {
  double value = 0;
  uint8_t len = 0;  // 0: nothing kept
  char text[24];
};

// Writes the value (or the count) and a newline at p; returns the end.
char* write_value_line(char* p, double v, ValueMemo& memo);
char* write_count_line(char* p, uint64_t v);

inline char* write_text(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

}  // namespace lg::metrics
