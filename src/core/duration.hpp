#pragma once
// Durations as users write them: "250ms", "2s", "1m", "1h", "1m30s". A bare "0" is zero.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace lg::core {

using Millis = std::chrono::milliseconds;

// Parses a duration; returns nullopt (with `why` filled) when the text is not one.
std::optional<Millis> parse_duration(std::string_view text, std::string* why = nullptr);

// Formats a duration the way parse_duration reads it back ("1500ms" -> "1.5s").
std::string format_duration(Millis d);

}  // namespace lg::core
