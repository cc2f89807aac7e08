#pragma once
// BusyPoll: after the loop wakes from a blocking wait, keep it polling for I/O without blocking
// for `window`, then let it block again. libuv polls with a zero timeout while an idle handle is
// active, so the window is an active uv_idle_t, opened by a uv_check_t (which runs after every
// poll) whenever the poll before it was allowed to block.
//
// Why: a process that blocks makes whoever writes to it pay for waking it up, and on a virtual
// machine waking a halted core goes through the hypervisor. Under steady traffic the loop then
// hardly ever blocks; idle, nothing runs: the window opens only when an event arrives. The price
// is up to `window` of CPU time per wake-up, so it is off unless asked for (--busy-poll-us), like
// HAProxy's busy-polling.
//
// Owns both handles; close() frees the object once their close callbacks ran. Neither handle
// keeps the loop alive.
#include <uv.h>

#include <chrono>
#include <cstdint>

namespace lg {

class BusyPoll {
 public:
  static BusyPoll* start(uv_loop_t* loop, std::chrono::microseconds window);
  void close();  // after this the pointer must not be used
  // Windows opened so far (a wake-up from a blocking wait each).
  uint64_t windows() const { return windows_; }

 private:
  explicit BusyPoll(std::chrono::microseconds window);
  static void on_check(uv_check_t* handle);
  static void on_idle(uv_idle_t* handle);
  static void on_close(uv_handle_t* handle);

  uv_check_t check_{};
  uv_idle_t idle_{};
  uint64_t window_ns_;
  uint64_t until_ns_ = 0;
  uint64_t windows_ = 0;
  int open_handles_ = 0;
  bool closing_ = false;
};

}  // namespace lg
