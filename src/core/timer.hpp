#pragma once
// Timer: one uv_timer_t with a callback, a HandleWrap (see handle_wrap.hpp for its lifetime:
// create(), close() once done, freed in the close callback).
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>

#include "core/handle_wrap.hpp"

namespace lg::core {

class Timer : public HandleWrap<Timer, uv_timer_t, std::function<void()>> {
 public:
  using Callback = std::function<void()>;

  static Timer* create(uv_loop_t* loop, Callback cb);

  void start(std::chrono::milliseconds timeout, std::chrono::milliseconds repeat = {});
  void stop();
  bool active() const;

 private:
  friend class HandleWrap<Timer, uv_timer_t, Callback>;
  explicit Timer(Callback cb) : HandleWrap(std::move(cb)) {}
  ~Timer() = default;
};

}  // namespace lg::core
