#pragma once
// Resolver: the upstream name of one route, resolved with a DnsQuery (libuv's thread pool)
// and cached for `ttl` (after pgbouncer's dnslookup.c). Never resolved once forever: a
// restarted container's new address is picked up at the next lookup after the TTL, and at
// once after a connect to every cached address failed (invalidate()). Lookups that arrive
// while one is in flight wait for that one, so a burst of connections costs one lookup and
// a slow DNS server never fills the thread pool. IP literals are parsed once, never resolved.
//
// Contract: lookup() returns the cached addresses, or nullptr after registering the waiter,
// which is called back later (never from inside lookup()) exactly once unless cancel()ed.
// Addresses are in getaddrinfo's order; a session tries them in turn.
// On a Clock (core/loop_clock.hpp) for the TTL, so tests move time by hand; the lookups
// themselves always run on the loop's thread pool.
#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "core/dns_query.hpp"
#include "core/duration.hpp"
#include "core/loop_clock.hpp"
#include "core/net_address.hpp"

namespace lg::proxy {

class ResolveWaiter {
 public:
  // status 0 with a non-empty list, or a libuv error (UV_EAI_*, UV_ETIMEDOUT, ...).
  virtual void on_resolved(int status, const core::Addresses& addresses) = 0;

 protected:
  ~ResolveWaiter() = default;
};

template <class Clock>
class BasicResolver {
 public:
  BasicResolver(uv_loop_t* loop, Clock clock, std::string host, uint16_t port, core::Millis ttl,
                std::string log_name);
  ~BasicResolver();
  BasicResolver(const BasicResolver&) = delete;
  BasicResolver& operator=(const BasicResolver&) = delete;

  core::Addresses lookup(ResolveWaiter* waiter);
  void cancel(ResolveWaiter* waiter);
  // Connecting to every address of `failed` failed: resolve afresh next time.
  void invalidate(const core::Addresses& failed);

  size_t lookups() const { return lookups_; }   // getaddrinfo calls made
  std::string last_answer() const;               // "172.18.0.3, ..." for /status
  const std::string& last_error() const { return last_error_; }

 private:
  void start_lookup();
  void on_answer(int status, const core::Addresses& answer);

  uv_loop_t* loop_;
  Clock clock_;
  std::string host_;
  uint16_t port_;
  core::Millis ttl_;
  std::string log_name_;
  bool literal_ = false;
  core::Addresses cached_;
  uint64_t expires_ = 0;  // Clock::now_ms()
  core::DnsQuery* inflight_ = nullptr;  // until it answers; cancelled with the Resolver
  std::vector<ResolveWaiter*> waiters_;
  size_t lookups_ = 0;
  std::string last_error_;
};

using Resolver = BasicResolver<core::LoopClock>;

}  // namespace lg::proxy
