#include "core/timer.hpp"

namespace lg::core {

Timer* Timer::create(uv_loop_t* loop, Callback cb) {
  auto* t = new Timer(std::move(cb));
  uv_timer_init(loop, &t->handle_);
  t->handle_.data = t;
  return t;
}

void Timer::start(std::chrono::milliseconds timeout, std::chrono::milliseconds repeat) {
  if (closing_) return;
  uv_timer_start(&handle_, [](uv_timer_t* h) { static_cast<Timer*>(h->data)->fire(); },
                 static_cast<uint64_t>(timeout.count()), static_cast<uint64_t>(repeat.count()));
}

void Timer::stop() {
  if (!closing_) uv_timer_stop(&handle_);
}

bool Timer::active() const {
  return !closing_ && uv_is_active(reinterpret_cast<const uv_handle_t*>(&handle_));
}

}  // namespace lg::core
