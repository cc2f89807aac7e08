#pragma once
// HttpAttempt: one HTTP/1.1 request on its own connection, parsed with llhttp. Used by the
// probes (Letta, nginx, SSE) and by `lettagate check`. The host is resolved with a DnsQuery
// (IP literals skip the resolver) and a Connector tries each address in turn.
//
// Lifetime: a HandleGroup object (core/handle_group.hpp). start() returns it; it calls exactly
// one of on_complete / on_error, later (never from inside start()), unless cancel() comes first,
// after which no handler is called. Either way it frees itself once its socket is closed; the
// pointer must not be used after a final handler or cancel(). The caller owns deadlines (a Timer
// that calls cancel()).
#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/connector.hpp"
#include "core/dns_query.hpp"
#include "core/handle.hpp"
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

class HttpAttempt final : core::Connector::Client {
 public:
  struct Handlers {
    // Status and headers arrived (optional).
    std::function<void(const ClientResponse& head)> on_headers;
    // Body bytes as they arrive (optional). When set, the body is not accumulated.
    std::function<void(std::string_view chunk)> on_body;
    std::function<void(ClientResponse response)> on_complete;
    std::function<void(ClientError error)> on_error;
  };

  static HttpAttempt* start(uv_loop_t* loop, ClientRequest request, Handlers handlers);
  void cancel();

 private:
  friend class lg::core::HandleGroup;
  HttpAttempt(uv_loop_t* loop, ClientRequest request, Handlers handlers);
  ~HttpAttempt() = default;

  void on_resolved(int status, const core::Addresses& addresses);
  void on_connected() override;
  void on_connect_failed(int status) override;
  void send_request();
  void fail(ClientError e);
  void complete();
  void end();  // closes what is open and lets the group free the attempt

  static void on_write(uv_write_t* req, int status);
  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  void parsed(ResponseParser::Result result);

  core::HandleGroup group_{this};
  core::Handle<uv_tcp_t> socket_{group_};
  core::Connector connector_;
  ClientRequest request_;
  Handlers handlers_;
  std::unique_ptr<ResponseParser> parser_;
  core::DnsQuery* dns_ = nullptr;  // until it answers
  uv_write_t write_req_{};   // on the socket: called back before the socket's close callback
  std::string wire_;         // the serialized request, alive until written
  char buffer_[16 * 1024];
  bool done_ = false;  // a final handler ran, or cancel()
};

}  // namespace lg::http
