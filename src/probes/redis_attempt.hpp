#pragma once
// RedisAttempt: one Redis probe attempt on the loop. Resolves the host with a DnsQuery
// (hiredis 0.14 would call a blocking getaddrinfo on the loop thread for a name), connects to
// each address in turn with hiredis async (our libuv adapter), then sends
// [AUTH [user] password] [SELECT db] PING INFO in one pipeline and reads the replies in order.
//
// Contract (as Probe's): `done` is called exactly once, never from inside start() (the query
// answers later, even for an IP literal); after cancel() it is not called.
// Lifetime: a HandleGroup object (core/handle_group.hpp); the group counts the attempt and the
// hiredis context while hiredis has it. hiredis owns the context's memory: it frees it itself
// after a failed connect (connect callback with REDIS_ERR) or after the disconnect callback; we
// call redisAsyncFree exactly once, and drop our pointer (and its count) in those callbacks.
// hiredis calls us back from inside redisAsyncFree, so every way in holds a HandleGroup::Keep:
// the attempt is freed when the outermost call returns, never under an outer frame.
#include <hiredis/async.h>
#include <uv.h>

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "core/dns_query.hpp"
#include "core/handle_group.hpp"
#include "probes/outcome.hpp"
#include "probes/redis_reply.hpp"

namespace lg::probes {

struct RedisTarget {
  std::string host;      // name or IP literal (IPv6 without brackets)
  uint16_t port = 6379;
  std::string user;      // ACL user for AUTH (empty: AUTH password only)
  std::string password;  // empty: no AUTH; never printed
  int db = 0;            // SELECT when not 0
};

class RedisAttempt {
 public:
  using Done = std::function<void(Outcome)>;
  static RedisAttempt* start(uv_loop_t* loop, RedisTarget target, Done done);
  void cancel();  // after this the pointer must not be used

  RedisAttempt(const RedisAttempt&) = delete;
  RedisAttempt& operator=(const RedisAttempt&) = delete;

 private:
  enum class State { Resolving, Connecting, Talking, Finished, Cancelled };

  friend class lg::core::HandleGroup;
  RedisAttempt(uv_loop_t* loop, RedisTarget target, Done done);
  ~RedisAttempt() = default;

  void on_resolved(int status, const core::Addresses& addresses);
  void connect_next();
  void send_commands();
  bool send(RedisStep step, const std::vector<std::string>& args);
  void on_reply(RedisStep step, const redisReply* reply);
  void finish(Outcome o);
  void close_context();
  void context_gone();
  std::string address() const;

  static void on_connect(const redisAsyncContext* ac, int status);
  static void on_disconnect(const redisAsyncContext* ac, int status);
  static void on_reply_cb(redisAsyncContext* ac, void* reply, void* privdata);

  uv_loop_t* loop_;
  RedisTarget target_;
  Done done_;
  core::HandleGroup group_{this};
  State state_ = State::Resolving;
  core::DnsQuery* dns_ = nullptr;         // until it answers
  std::vector<std::string> addresses_;    // IP literals to try, in order
  size_t next_ = 0;
  std::string current_;                   // the IP being tried
  redisAsyncContext* ac_ = nullptr;       // until hiredis frees it (see above)
  bool free_requested_ = false;
  std::deque<RedisStep> expected_;        // replies still to come, in order
  bool ping_loading_ = false;             // PING said -LOADING: INFO tells how far
  Outcome last_error_;
};

}  // namespace lg::probes
