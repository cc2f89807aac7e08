#pragma once
// A held idle connection (issue 20, item 1): between probes, one TCP connection to the
// component's server is kept open and read; a server that dies closes it at once (the kernel
// sends FIN, or RST), which tells the runner without waiting for the next probe. Its end is a
// passive signal (Component::on_passive, source "held"): the runner probes again at once; it
// never marks the component down on its own.
//
// Only for servers that keep an idle connection open indefinitely: Redis (its `timeout` is 0
// unless configured). Not for PostgreSQL (a connection without a startup packet is dropped after
// authentication_timeout: the probe keeps its own session instead, pg_session.hpp) nor HTTP
// servers (keep-alive timeouts: uvicorn 5 s, nginx 75 s), whose idle closes would be false
// signals.
//
// HeldConnection: a HandleGroup object (core/handle_group.hpp), like a probe attempt. `ended`
// runs exactly once, later, unless close() comes first: with nullptr when the connect failed
// (the probe sees that itself), else with why the open connection ended ("eof", "reset",
// "error"). The pointer must not be used after `ended` or close().
#include <uv.h>

#include <functional>
#include <string>

#include "core/connector.hpp"
#include "core/dns_query.hpp"
#include "core/handle.hpp"

namespace lg::probes {

class HeldConnection final : core::Connector::Client {
 public:
  using Ended = std::function<void(const char* reason)>;
  static HeldConnection* open(uv_loop_t* loop, const std::string& host, uint16_t port, Ended ended);
  void close();

 private:
  friend class lg::core::HandleGroup;
  HeldConnection(uv_loop_t* loop, Ended ended)
      : connector_(loop, group_, socket_, this, *this), ended_(std::move(ended)) {}
  ~HeldConnection() = default;

  void on_connected() override;
  void on_connect_failed(int) override { finish(nullptr); }
  void finish(const char* reason);
  void end();
  static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);

  core::HandleGroup group_{this};
  core::Handle<uv_tcp_t> socket_{group_};
  core::Connector connector_;
  Ended ended_;
  core::DnsQuery* dns_ = nullptr;  // until it answers
  char buf_[64];             // what an idle server might send (nothing, normally): dropped
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

}  // namespace lg::probes
