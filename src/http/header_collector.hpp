#pragma once
// HeaderCollector: header fields as llhttp hands them out, in pieces (a name may come in several
// on_header_field calls, a value in several on_header_value calls), into Headers with names
// lower-cased. Shared by the request and the response parser; counting the bytes against a
// limit stays with them.
#include <algorithm>
#include <cctype>
#include <string>

#include "http/http_message.hpp"

namespace lg::http {

class HeaderCollector {
 public:
  void reset() {
    field_.clear();
    in_value_ = false;
  }
  void field(const char* at, size_t len) {
    if (in_value_) reset();
    field_.append(at, len);
  }
  void value(Headers& headers, const char* at, size_t len) {
    if (!in_value_) {
      in_value_ = true;
      std::string name = field_;
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      headers.emplace_back(std::move(name), std::string());
    }
    headers.back().second.append(at, len);
  }

 private:
  std::string field_;
  bool in_value_ = false;
};

}  // namespace lg::http
