#pragma once
// TcpAttempt: one TCP probe attempt: resolve a name (DnsQuery; IP literals skip the resolver)
// and connect, trying each address in turn (Connector). A probe that only wants to know whether
// the port answers: the socket is closed as soon as it is connected.
//
// Lifetime: a HandleGroup object (core/handle_group.hpp). `cb` runs exactly once, later (never
// from inside start()), with 0 or the libuv error, unless cancel() comes first; the attempt
// frees itself once its socket is closed. The pointer must not be used after `cb` or cancel().
#include <uv.h>

#include <functional>
#include <string>

#include "core/connector.hpp"
#include "core/dns_query.hpp"
#include "core/handle.hpp"

namespace lg::probes {

class TcpAttempt final : core::Connector::Client {
 public:
  using Callback = std::function<void(int status)>;
  static TcpAttempt* start(uv_loop_t* loop, const std::string& host, uint16_t port, Callback cb);
  void cancel();

 private:
  friend class lg::core::HandleGroup;
  TcpAttempt(uv_loop_t* loop, Callback cb) : connector_(loop, group_, socket_, this, *this), cb_(std::move(cb)) {}
  ~TcpAttempt() = default;

  void on_connected() override { finish(0); }
  void on_connect_failed(int status) override { finish(status); }
  void finish(int status);
  void end();

  core::HandleGroup group_{this};
  core::Handle<uv_tcp_t> socket_{group_};
  core::Connector connector_;
  Callback cb_;
  core::DnsQuery* dns_ = nullptr;  // until it answers
};

}  // namespace lg::probes
