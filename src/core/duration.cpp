#include "core/duration.hpp"

#include <cctype>
#include <cstdint>
#include <fmt/format.h>

namespace lg::core {
namespace {

std::optional<int64_t> unit_millis(std::string_view unit) {
  if (unit == "ms") return 1;
  if (unit == "s") return 1000;
  if (unit == "m") return 60'000;
  if (unit == "h") return 3'600'000;
  return std::nullopt;
}

bool fail(std::string* why, std::string msg) {
  if (why) *why = std::move(msg);
  return false;
}

}  // namespace

std::optional<Millis> parse_duration(std::string_view text, std::string* why) {
  if (text.empty()) {
    fail(why, "empty duration (write e.g. 250ms, 2s, 1m)");
    return std::nullopt;
  }
  if (text == "0") return Millis{0};
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    int64_t number = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      number = number * 10 + (text[i] - '0');
      if (number > 1'000'000'000) {
        fail(why, "duration too large");
        return std::nullopt;
      }
      ++i;
    }
    if (i == start) {
      fail(why, fmt::format("expected a number at '{}' (write e.g. 250ms, 2s, 1m)", text.substr(start)));
      return std::nullopt;
    }
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    auto unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) {
      fail(why, fmt::format("'{}' has no unit (ms, s, m or h)", text));
      return std::nullopt;
    }
    auto factor = unit_millis(unit);
    if (!factor) {
      fail(why, fmt::format("unknown unit '{}' (ms, s, m or h)", unit));
      return std::nullopt;
    }
    total += number * *factor;
    if (total > int64_t{30} * 24 * 3'600'000) {
      fail(why, "duration longer than 30 days");
      return std::nullopt;
    }
  }
  return Millis{total};
}

std::string format_duration(Millis d) {
  auto ms = d.count();
  if (ms == 0) return "0s";
  if (ms % 3'600'000 == 0) return fmt::format("{}h", ms / 3'600'000);
  if (ms % 60'000 == 0) return fmt::format("{}m", ms / 60'000);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

}  // namespace lg::core
