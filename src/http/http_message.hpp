#pragma once
// Requests and responses as lettagate's server and client see them.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lg::http {

using Headers = std::vector<std::pair<std::string, std::string>>;  // names lower-cased

// Case-insensitive lookup; nullptr when absent.
const std::string* find_header(const Headers& headers, std::string_view name);

struct Request {
  std::string method;  // "GET"
  std::string target;  // "/readyz?x=1" as sent
  std::string path;    // "/readyz"
  std::string query;   // "x=1"
  Headers headers;
  std::string body;
  int http_minor = 1;
  bool keep_alive = true;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  Headers headers;  // extra headers
  std::string body;

  static Response text(int status, std::string body);
  static Response json(int status, std::string body);
};

const char* reason_phrase(int status);

}  // namespace lg::http
