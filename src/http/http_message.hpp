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
  std::string_view content_type = "text/plain; charset=utf-8";  // static text
  std::string_view extra_headers;  // static text: whole "Name: value\r\n" lines
  std::string body;
  // A body kept elsewhere (the cached /readyz body, the metrics buffer), sent instead of
  // `body` without a copy into the Response: it must stay valid until the server has taken
  // the response, which it does before the handler's caller returns.
  std::string_view shared_body;
  bool shared = false;

  std::string_view payload() const { return shared ? shared_body : std::string_view(body); }
  static Response text(int status, std::string body);
  static Response json(int status, std::string body);
  static Response json_shared(int status, std::string_view body);
};

const char* reason_phrase(int status);

}  // namespace lg::http
