#pragma once
#include <string>
#include <string_view>

namespace lg::core {

// Escapes text for the inside of a JSON string (quotes not included). Control characters
// become \u00XX; bytes >= 0x80 pass through (UTF-8 stays UTF-8).
std::string json_escape(std::string_view in);

}  // namespace lg::core
