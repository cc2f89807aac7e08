#pragma once
// RedisAttempt: one Redis probe attempt on the loop. Resolves the host with uv_getaddrinfo
// (hiredis 0.14 would call a blocking getaddrinfo on the loop thread for a name), connects to
// each address in turn with hiredis async (our libuv adapter), then sends
// [AUTH [user] password] [SELECT db] PING INFO in one pipeline and reads the replies in order.
//
// Contract (as Probe's): `done` is called exactly once, never from inside start(); after
// cancel() it is not called. The attempt frees itself once it is finished or cancelled AND
// hiredis has let go of the context. hiredis owns the context's memory: it frees it itself after
// a failed connect (connect callback with REDIS_ERR) or after the disconnect callback; we call
// redisAsyncFree exactly once, and drop our pointer in those callbacks.
#include <hiredis/async.h>
#include <uv.h>

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "core/timer.hpp"
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
  enum class State { Starting, Resolving, Connecting, Talking, Finished, Cancelled };
  class Entry;  // marks a call into the attempt; the outermost one may free it on the way out

  RedisAttempt(uv_loop_t* loop, RedisTarget target, Done done);
  ~RedisAttempt() = default;

  void begin();
  void resolve();
  void connect_next();
  void send_commands();
  bool send(RedisStep step, const std::vector<std::string>& args);
  void on_reply(RedisStep step, const redisReply* reply);
  void finish(Outcome o);
  void close_context();
  bool releasable() const;
  std::string address() const;

  static void on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* res);
  static void on_connect(const redisAsyncContext* ac, int status);
  static void on_disconnect(const redisAsyncContext* ac, int status);
  static void on_reply_cb(redisAsyncContext* ac, void* reply, void* privdata);

  uv_loop_t* loop_;
  RedisTarget target_;
  Done done_;
  State state_ = State::Starting;
  Timer* kick_ = nullptr;                 // defers begin() to the next loop turn
  uv_getaddrinfo_t* resolving_ = nullptr;  // in flight; freed in on_resolved
  std::vector<std::string> addresses_;    // IP literals to try, in order
  size_t next_ = 0;
  std::string current_;                   // the IP being tried
  redisAsyncContext* ac_ = nullptr;       // until hiredis frees it (see above)
  bool free_requested_ = false;
  std::deque<RedisStep> expected_;        // replies still to come, in order
  bool ping_loading_ = false;             // PING said -LOADING: INFO tells how far
  Outcome last_error_;
  int depth_ = 0;
};

}  // namespace lg::probes
