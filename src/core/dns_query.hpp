#pragma once
// DnsQuery: one name lookup, the only way lettagate resolves names (the probes' attempts, the
// forwarder's resolver). uv_getaddrinfo runs on libuv's thread pool, so the loop never blocks
// on a resolver. The rules:
//   - The answer comes exactly once, from the loop, never from inside start(): an IP literal is
//     answered without the resolver and a lookup libuv refuses at once (no memory, a bad name)
//     is reported, both on a later turn (a Defer), like any other answer.
//   - status 0 comes with at least one IPv4 or IPv6 address with `port` (getaddrinfo's order);
//     an answer without one is UV_EAI_NODATA. Otherwise a libuv error (UV_EAI_*).
//   - cancel(): the answer never comes. A lookup already running cannot be stopped (uv_cancel
//     only takes one still queued); the query frees itself when libuv calls back, so its owner
//     may go at once. After cancel() or the answer, the pointer must not be used.
#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>

#include "core/defer.hpp"
#include "core/handle_group.hpp"
#include "core/net_address.hpp"

namespace lg::core {

class DnsQuery {
 public:
  using Answer = std::function<void(int status, const Addresses& addresses)>;

  // `port` 0: the addresses carry none (a library connects by IP text and its own port).
  static DnsQuery* start(uv_loop_t* loop, const std::string& host, uint16_t port, Answer answer);
  void cancel();

 private:
  friend class HandleGroup;
  explicit DnsQuery(Answer answer) : answer_(std::move(answer)) {}
  ~DnsQuery() = default;

  void answer_later(uv_loop_t* loop, int status);
  void deliver(int status);
  static void on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* res);

  HandleGroup group_{this};  // the query itself, and the uv_getaddrinfo while libuv has it
  uv_getaddrinfo_t req_{};
  Defer* later_ = nullptr;  // an answer known at once, given on a later turn
  Answer answer_;
  Addresses addresses_;
  bool running_ = false;  // req_ is with libuv
};

}  // namespace lg::core
