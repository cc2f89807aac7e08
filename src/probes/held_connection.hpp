#pragma once
// A held idle connection (issue 20, item 1): between probes, one TCP connection to the
// component's server is kept open and read; a server that dies closes it at once (the kernel
// sends FIN, or RST), which tells the runner without waiting for the next probe. Its end is a
// passive signal (Component::on_passive, source "held"): the runner probes again at once; it
// never marks the component down on its own.
//
// Redis (TcpWatch): a bare TCP connection, as Redis keeps idle clients open (`timeout` 0). Not
// PostgreSQL (a connection without a startup packet is dropped after authentication_timeout:
// the probe keeps its own session instead, pg_session.hpp).
// HTTP servers (HttpWatch: Letta's uvicorn, nginx) close an idle keep-alive connection after their
// timeout (uvicorn 5 s, nginx 75 s), which is not a crash: HttpWatch sends one request on the
// connection (so the server's keep-alive timeout is what applies) and, when the server closes it
// after answering, opens a new one at once: if that one is answered too, the close was an idle
// close and nothing is signalled; if it is refused, reset or closed unanswered, the server went
// away and the end is signalled ("eof"). A server that closes every connection right after
// answering (no keep-alive) is given up after a few in a row, until the next successful probe.
//
// HeldConnection: a HandleGroup object (core/handle_group.hpp), like a probe attempt. `ended`
// runs exactly once, later, unless close() comes first: with reason nullptr when the connect
// failed, else with why the open connection ended ("eof", "reset", "error"), and idle_ms: how
// long it had been idle since the answer to its request (-1: not answered, or no request). The
// pointer must not be used after `ended` or close().
#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/connector.hpp"
#include "core/dns_query.hpp"
#include "core/handle.hpp"
#include "http/response_parser.hpp"

namespace lg::probes {

class HeldConnection final : core::Connector::Client {
 public:
  using Ended = std::function<void(const char* reason, int64_t idle_ms)>;
  // `request`: bytes sent once connected (an HTTP request), whose answer is read and dropped;
  // empty: nothing is sent.
  static HeldConnection* open(uv_loop_t* loop, const std::string& host, uint16_t port, Ended ended,
                              std::string request = {});
  void close();

 private:
  friend class lg::core::HandleGroup;
  HeldConnection(uv_loop_t* loop, Ended ended, std::string request);
  ~HeldConnection() = default;

  void on_connected() override;
  void on_connect_failed(int) override { finish(nullptr); }
  void finish(const char* reason);
  void end();
  void read(const char* data, size_t len);
  static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void on_write(uv_write_t* req, int status);

  core::HandleGroup group_{this};
  core::Handle<uv_tcp_t> socket_{group_};
  core::Connector connector_;
  Ended ended_;
  uv_loop_t* loop_;
  std::string request_;
  uv_write_t write_req_{};  // on the socket: called back before the socket's close callback
  std::unique_ptr<http::ResponseParser> parser_;  // while the answer to `request_` is awaited
  int64_t answered_ms_ = -1;                      // loop time of the answer
  core::DnsQuery* dns_ = nullptr;  // until it answers
  char buf_[1024];                 // the answer, or what an idle server might send: dropped
};

// What a runner keeps between probes (probe_runner.hpp): ensure() after every success opens the
// held connection if none is open; `lost` hears why an open one ended.
class Watch {
 public:
  using Lost = std::function<void(const char* reason)>;
  virtual ~Watch() = default;
  virtual void ensure(Lost lost) = 0;
};

class TcpWatch final : public Watch {
 public:
  TcpWatch(uv_loop_t* loop, std::string host, uint16_t port) : loop_(loop), host_(std::move(host)), port_(port) {}
  ~TcpWatch() override;
  void ensure(Lost lost) override;

 private:
  uv_loop_t* loop_;
  std::string host_;
  uint16_t port_;
  HeldConnection* conn_ = nullptr;
};

// An HTTP keep-alive connection (see the top): `request` is sent on each connection it opens.
class HttpWatch final : public Watch {
 public:
  HttpWatch(uv_loop_t* loop, std::string host, uint16_t port, std::string request)
      : loop_(loop), host_(std::move(host)), port_(port), request_(std::move(request)) {}
  ~HttpWatch() override;
  void ensure(Lost lost) override;
  // How many FINs after an answer were checked with a new connection.
  uint64_t idle_closes() const { return idle_closes_; }

  // A GET of `target` with Host `host_header`, no Connection: close (HTTP/1.1 keeps it open).
  static std::string get_request(const std::string& target, const std::string& host_header);

 private:
  void open(bool verifying);
  void ended(const char* reason, int64_t idle_ms);

  uv_loop_t* loop_;
  std::string host_;
  uint16_t port_;
  std::string request_;
  Lost lost_;
  HeldConnection* conn_ = nullptr;
  bool verifying_ = false;     // conn_ was opened to tell an idle close from a crash
  int quick_closes_ = 0;       // closes in a row within a second of the answer
  uint64_t idle_closes_ = 0;
};

}  // namespace lg::probes
