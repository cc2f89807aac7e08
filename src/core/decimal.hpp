#pragma once
// Whole numbers as decimal text without a format string: HTTP heads (status, Content-Length)
// and the metrics exposition write many of them.
#include <cstdint>
#include <string>

namespace lg::core {

// Appends `v` in decimal.
void append_uint(std::string& out, uint64_t v);

}  // namespace lg::core
