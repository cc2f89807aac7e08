#pragma once
// ManualClock: the Clock tests drive by hand (see core/loop_clock.hpp for what a Clock is).
// A ManualTime holds the time and the timers; ManualClock is the small value code under test
// keeps, as LoopClock keeps a loop. advance() moves time forward and fires every timer that comes
// due on the way, each at its due time (now_ms() reads that time inside the callback), in order
// of due time, then of arming. A callback may arm timers; those due within the advance fire too.
// Timers are freed with the ManualTime, so a closed one is never touched again but stays valid.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace lg::core {

class ManualTime;

class ManualTimer {
 public:
  using Callback = std::function<void()>;
  void start(std::chrono::milliseconds timeout, std::chrono::milliseconds repeat = {});
  void stop() { armed_ = false; }
  bool active() const { return armed_; }
  uint64_t due_in() const;  // ms until it fires (0 when not armed), as uv_timer_get_due_in
  void close();
  void unref() {}

 private:
  friend class ManualTime;
  ManualTimer(ManualTime& time, Callback cb) : time_(time), cb_(std::move(cb)) {}

  ManualTime& time_;
  Callback cb_;
  uint64_t due_ = 0;
  uint64_t repeat_ = 0;
  uint64_t order_ = 0;  // when armed: ties fire in arming order
  bool armed_ = false;
  bool closed_ = false;
};

class ManualTime {
 public:
  // Starts well above 0: code that uses 0 for "no deadline" never sees it as a time.
  explicit ManualTime(uint64_t start_ms = 1'000'000) : now_(start_ms) {}
  ManualTime(const ManualTime&) = delete;
  ManualTime& operator=(const ManualTime&) = delete;

  uint64_t now_ms() const { return now_; }
  // Moves time forward by `by`, firing what comes due on the way (see above).
  void advance(std::chrono::milliseconds by);
  // Moves time to the next armed timer's due time and fires it (and any due with it); false
  // when nothing is armed.
  bool fire_next();
  size_t armed() const;
  uint64_t starts() const { return starts_; }  // timer starts so far: what re-arming costs

 private:
  friend class ManualTimer;
  friend struct ManualClock;
  ManualTimer* make(ManualTimer::Callback cb);
  ManualTimer* next_due() const;
  void fire(ManualTimer* t);

  uint64_t now_;
  uint64_t order_ = 0;
  uint64_t starts_ = 0;
  std::vector<std::unique_ptr<ManualTimer>> timers_;
};

struct ManualClock {
  explicit ManualClock(ManualTime& t) : time(&t) {}

  using Timer = ManualTimer;
  uint64_t now_ms() const { return time->now_ms(); }
  double seconds() const { return static_cast<double>(time->now_ms()) / 1000.0; }
  Timer* timer(Timer::Callback cb) const { return time->make(std::move(cb)); }

  ManualTime* time;
};

}  // namespace lg::core
