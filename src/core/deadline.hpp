#pragma once
// Deadline: a timeout that moves often and rarely fires, like a connection's header and
// keep-alive deadlines, which move on every request. Moving it later costs nothing: the timer
// stays armed where it is and, when it fires early, re-arms for what is left. Only a move to
// an earlier time re-arms at once. A busy keep-alive connection then touches libuv's timer
// heap about once per timeout instead of three times per request.
//
// Owns one Timer (which frees itself in its close callback); close() before the owner goes.
#include <uv.h>

#include <cstdint>
#include <functional>

#include "core/duration.hpp"
#include "core/timer.hpp"

namespace lg {

class Deadline {
 public:
  Deadline(uv_loop_t* loop, std::function<void()> on_expiry);
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // Expires `from_now` after the loop's current time, replacing any earlier setting.
  void set(Millis from_now);
  void clear() { deadline_ = 0; }
  // Closes the timer: on_expiry never runs after this.
  void close();

 private:
  void arm(uint64_t at);
  void on_timer();

  uv_loop_t* loop_;
  Timer* timer_;
  std::function<void()> on_expiry_;
  uint64_t deadline_ = 0;   // loop time in ms; 0: none
  uint64_t armed_at_ = 0;   // when the timer fires; 0: not armed
};

}  // namespace lg
