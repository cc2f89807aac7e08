// Configuration parsing: argv built from the input (NUL- or newline-separated), an
// environment that is empty, and the URL/DSN/duration parsers and redaction directly.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args;
  std::string cur;
  for (char c : text) {
    if (c == '\0' || c == '\n') {
      args.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  args.push_back(cur);
  auto r = lg::config::parse_config(args, [](const char*) -> const char* { return nullptr; });
  if (r.config) (void)lg::config::describe_config(*r.config);
  if (r.error) (void)r.error->str();
  (void)lg::config::parse_url(text);
  (void)lg::config::redact_dsn(text);
  (void)lg::core::parse_duration(text);
  (void)lg::core::parse_host_port(text);
  return 0;
}
