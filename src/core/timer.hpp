#pragma once
// Timer: owns one uv_timer_t. The owner holds a raw pointer and calls close() when done;
// the Timer frees itself in the uv_close callback, so a timer callback never runs on freed
// memory and close() is safe from inside the callback. close() is idempotent and clears the
// callback first, so nothing fires after dispose.
#include <uv.h>

#include <chrono>
#include <functional>

namespace lg {

class Timer {
 public:
  using Callback = std::function<void()>;

  static Timer* create(uv_loop_t* loop, Callback cb);

  void start(std::chrono::milliseconds timeout, std::chrono::milliseconds repeat = {});
  void stop();
  bool active() const;
  void close();  // after this the pointer must not be used
  // Keeps the loop from staying alive for this timer alone (uv_unref).
  void unref();

 private:
  explicit Timer(Callback cb) : cb_(std::move(cb)) {}
  static void on_timer(uv_timer_t* handle);
  static void on_close(uv_handle_t* handle);

  uv_timer_t handle_{};
  Callback cb_;
  bool closing_ = false;
};

}  // namespace lg
