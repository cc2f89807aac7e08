#pragma once
// SessionTimer<Owner, Clock>: a proxied session's one timer on its Clock (core/loop_clock.hpp),
// firing Owner::on_deadline(). With the loop's clock it is a uv timer embedded in the session and
// counted by its HandleGroup, as before there was a choice: no allocation, no indirection. With
// a ManualClock (tests) it is the clock's timer, fired when the test advances the time.
#include <uv.h>

#include <chrono>
#include <cstdint>

#include "core/handle.hpp"
#include "core/loop_clock.hpp"
#include "core/manual_clock.hpp"

namespace lg::proxy {

template <class Owner, class Clock>
class SessionTimer;

template <class Owner>
class SessionTimer<Owner, core::LoopClock> {
 public:
  explicit SessionTimer(core::HandleGroup& group) : handle_(group) {}
  void init(Owner* owner, core::LoopClock clock) { handle_.init(owner, uv_timer_init, clock.loop); }  // cannot fail
  void start(uint64_t ms) { uv_timer_start(handle_.get(), on_timer, ms, 0); }
  void stop() { uv_timer_stop(handle_.get()); }
  bool active() { return uv_is_active(handle_.handle()) != 0; }
  uint64_t due_in() const { return uv_timer_get_due_in(handle_.get()); }
  void close() { handle_.close(); }

 private:
  static void on_timer(uv_timer_t* t) { static_cast<Owner*>(t->data)->on_deadline(); }
  core::Handle<uv_timer_t> handle_;
};

template <class Owner>
class SessionTimer<Owner, core::ManualClock> {
 public:
  explicit SessionTimer(core::HandleGroup&) {}
  void init(Owner* owner, core::ManualClock clock) {
    timer_ = clock.timer([owner] { owner->on_deadline(); });
  }
  void start(uint64_t ms) { timer_->start(std::chrono::milliseconds(ms)); }
  void stop() { timer_->stop(); }
  bool active() { return timer_->active(); }
  uint64_t due_in() const { return timer_->due_in(); }
  void close() {
    if (timer_) timer_->close();  // the ManualTime frees it
    timer_ = nullptr;
  }

 private:
  core::ManualTimer* timer_ = nullptr;
};

}  // namespace lg::proxy
