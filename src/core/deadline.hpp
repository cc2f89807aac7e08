#pragma once
// Deadline: a timeout that moves often and rarely fires, like a connection's header and
// keep-alive deadlines, which move on every request. Moving it later costs nothing: the timer
// stays armed where it is and, when it fires early, re-arms for what is left. Only a move to
// an earlier time re-arms at once. A busy keep-alive connection then touches libuv's timer
// heap about once per timeout instead of three times per request.
//
// Owns one timer of its Clock (core/loop_clock.hpp; tests use ManualClock). close() or the
// destructor closes it: on_expiry never runs after either, so the owner may go at once.
#include <cstdint>
#include <functional>
#include <type_traits>

#include "core/duration.hpp"
#include "core/loop_clock.hpp"

namespace lg::core {

template <class Clock>
class BasicDeadline {
 public:
  BasicDeadline(Clock clock, std::function<void()> on_expiry)
      : clock_(clock), timer_(clock_.timer([this] { on_timer(); })), on_expiry_(std::move(on_expiry)) {}
  ~BasicDeadline() { close(); }
  BasicDeadline(const BasicDeadline&) = delete;
  BasicDeadline& operator=(const BasicDeadline&) = delete;

  // Expires `from_now` after the clock's current time, replacing any earlier setting.
  void set(Millis from_now) {
    deadline_ = clock_.now_ms() + static_cast<uint64_t>(from_now.count());
    if (armed_at_ == 0 || deadline_ < armed_at_) arm(deadline_);
  }
  void clear() { deadline_ = 0; }
  uint64_t now_ms() const { return clock_.now_ms(); }
  void close() {
    if (!timer_) return;
    timer_->close();
    timer_ = nullptr;
    deadline_ = 0;
  }

 private:
  void arm(uint64_t at) {
    if (!timer_) return;
    const uint64_t now = clock_.now_ms();
    timer_->start(Millis(at > now ? at - now : 0));
    armed_at_ = at;
  }
  void on_timer() {
    armed_at_ = 0;
    if (deadline_ == 0) return;  // cleared since it was armed
    if (clock_.now_ms() < deadline_) {
      arm(deadline_);  // moved later since it was armed
      return;
    }
    deadline_ = 0;
    on_expiry_();  // may close this Deadline (and its owner)
  }

  Clock clock_;
  typename Clock::Timer* timer_;
  std::function<void()> on_expiry_;
  uint64_t deadline_ = 0;  // clock time in ms; 0: none
  uint64_t armed_at_ = 0;  // when the timer fires; 0: not armed
};

using Deadline = BasicDeadline<LoopClock>;

}  // namespace lg::core
