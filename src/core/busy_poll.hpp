#pragma once
// BusyPoll: after the loop wakes from a blocking wait, keep it polling for I/O without blocking
// for a window, then let it block again. libuv polls with a zero timeout while an idle handle is
// active, so the window is an active uv_idle_t, opened by a uv_check_t (which runs after every
// poll) whenever the poll before it was allowed to block.
//
// Why: a process that blocks makes whoever writes to it pay for waking it up, and on a virtual
// machine waking a halted core goes through the hypervisor. Under steady traffic the loop then
// hardly ever blocks; idle, nothing runs: a window opens only when an event arrives.
//
// The window adapts like KVM's halt polling (virt/kvm/kvm_main.c: grow_halt_poll_ns, and
// shrink_halt_poll_ns with halt_poll_ns_shrink = 0), so that CPU is spent only where spinning
// pays: after each blocking wait it looks at how long the loop slept (to the end of the turn the
// wake-up ran, so that turn's work is counted in: a few microseconds). A short sleep (the next
// event came within `max` of the window's start) means a longer window would have caught it: the
// window grows (0, then kGrowStartNs, then doubling, up to `max`). A sleep longer than `max`
// means no window within the bound would have: it closes (0). Sparse traffic (a request every few
// milliseconds, LLM token streams) so keeps it at 0 or a few short windows per burst; steady
// traffic keeps it at `max`. Measured in docs/forwarder.md.
//
// Owns both handles; close() frees the object once their close callbacks ran. Neither handle
// keeps the loop alive.
#include <uv.h>

#include <chrono>
#include <cstdint>

namespace lg {

class BusyPoll {
 public:
  static constexpr uint64_t kGrowStartNs = 10'000;  // KVM's halt_poll_ns_grow_start

  static BusyPoll* start(uv_loop_t* loop, std::chrono::microseconds max_window);
  void close();  // after this the pointer must not be used

  // Windows opened so far (one per wake-up from a blocking wait while the window is above 0).
  uint64_t windows() const { return windows_; }
  // The window the next wake-up will open.
  std::chrono::nanoseconds window() const { return std::chrono::nanoseconds(window_ns_); }
  // Time spent in windows that have closed (working or polling): the extra CPU is at most this.
  std::chrono::nanoseconds time_in_windows() const { return std::chrono::nanoseconds(in_windows_ns_); }

  // The sizing rule alone: the next window after one of `window_ns` followed by a blocking wait
  // of `slept_ns`, bounded by `max_ns`.
  static uint64_t next_window(uint64_t window_ns, uint64_t slept_ns, uint64_t max_ns);

 private:
  explicit BusyPoll(std::chrono::microseconds max_window);
  static void on_check(uv_check_t* handle);
  static void on_idle(uv_idle_t* handle);
  static void on_close(uv_handle_t* handle);
  void may_block(uint64_t now_ns) { block_from_ns_ = now_ns; }

  uv_check_t check_{};
  uv_idle_t idle_{};
  uint64_t max_ns_;
  uint64_t window_ns_ = 0;      // the current window (0: block at once)
  uint64_t opened_ns_ = 0;      // when the current window opened
  uint64_t block_from_ns_ = 0;  // when the loop last went into a poll that could block
  uint64_t windows_ = 0;
  uint64_t in_windows_ns_ = 0;
  int open_handles_ = 0;
  bool closing_ = false;
};

}  // namespace lg
