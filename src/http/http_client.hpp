#pragma once
// HttpClient: one HTTP/1.1 request on its own connection, parsed with llhttp. Used by the
// probes (Letta, nginx, SSE) and by `lettagate check`. Resolves the host with uv_getaddrinfo
// (numeric hosts skip the resolver) and tries each address in turn.
//
// Lifetime: start() returns an object that frees itself once its handles are closed, after
// it has called exactly one of on_complete / on_error, or after cancel(). After cancel()
// no handler is called. Handlers are never called from inside start().
// The caller owns deadlines (a Timer that calls cancel()).
#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/http_message.hpp"
#include "http/response_parser.hpp"

namespace lg::http {

struct ClientRequest {
  std::string host;  // name or IP literal (IPv6 without brackets)
  uint16_t port = 80;
  std::string method = "GET";
  std::string target = "/";
  std::string host_header;  // default: host[:port]
  Headers headers;
  std::string body;
  size_t max_body = 1 << 20;  // larger bodies fail with "too_large" (unless streamed)
};

struct ClientError {
  std::string code;     // dns, refused, unreachable, reset, closed, protocol, too_large, io
  std::string message;  // for people
};

// Maps a libuv error to (code, message) as probes report it.
ClientError client_error_from_uv(int uv_status, const std::string& where);

class HttpClient {
 public:
  struct Handlers {
    // Status and headers arrived (optional).
    std::function<void(const ClientResponse& head)> on_headers;
    // Body bytes as they arrive (optional). When set, the body is not accumulated.
    std::function<void(std::string_view chunk)> on_body;
    std::function<void(ClientResponse response)> on_complete;
    std::function<void(ClientError error)> on_error;
  };

  static HttpClient* start(uv_loop_t* loop, ClientRequest request, Handlers handlers);
  void cancel();

 private:
  HttpClient(uv_loop_t* loop, ClientRequest request, Handlers handlers);
  void begin();
  void connect_next();
  void send_request();
  void fail(ClientError e);
  void complete();
  void close_socket();
  void release();  // drops one libuv-owned reference; frees the object at zero

  static void on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* res);
  static void on_connect(uv_connect_t* req, int status);
  static void on_write(uv_write_t* req, int status);
  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void on_socket_closed(uv_handle_t* h);
  void parsed(ResponseParser::Result result);

  uv_loop_t* loop_;
  ClientRequest request_;
  Handlers handlers_;
  std::unique_ptr<ResponseParser> parser_;
  std::vector<sockaddr_storage> addresses_;
  size_t next_address_ = 0;
  int last_connect_error_ = 0;
  uv_tcp_t* socket_ = nullptr;  // freed in its close callback
  uv_timer_t* start_ = nullptr;  // defers begin() so no handler runs inside start()
  std::string wire_;  // the serialized request, alive until written
  char buffer_[16 * 1024];
  bool done_ = false;  // a final handler ran, or cancel()
  int refs_ = 0;       // handles and requests libuv still holds
};

}  // namespace lg::http
