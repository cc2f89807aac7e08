#pragma once
// Clocks: what code that waits reads time and arms timers through, so tests can drive it by hand.
// A Clock is a small value with
//   now_ms()       the loop's cached time in ms (uv_now), for deadlines
//   seconds()      monotonic seconds, for latencies
//   timer(cb)      a new Clock::Timer (create/start/stop/active/close as lg::core::Timer)
// LoopClock is the production one: the loop's own time and libuv timers, everything inline, so
// code written against a Clock (BasicDeadline, BasicProbeRunner) pays nothing for it.
// ManualClock (core/manual_clock.hpp) is the tests' one: time moves when the test says, and the
// timers due on the way fire in order, without sleeping.
#include <uv.h>

#include <cstdint>

#include "core/clock.hpp"
#include "core/timer.hpp"

namespace lg::core {

struct LoopClock {
  // Implicit: a loop is all production code has to pass.
  LoopClock(uv_loop_t* l) : loop(l) {}  // NOLINT(google-explicit-constructor)

  using Timer = lg::core::Timer;
  uint64_t now_ms() const { return uv_now(loop); }
  double seconds() const { return mono_seconds(); }
  Timer* timer(Timer::Callback cb) const { return Timer::create(loop, std::move(cb)); }

  uv_loop_t* loop;
};

}  // namespace lg::core
