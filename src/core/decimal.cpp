#include "core/decimal.hpp"

#include <charconv>

namespace lg::core {

void append_uint(std::string& out, uint64_t v) {
  char buf[24];
  out.append(buf, static_cast<size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
}

}  // namespace lg::core
