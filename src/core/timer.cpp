#include "core/timer.hpp"

namespace lg {

Timer* Timer::create(uv_loop_t* loop, Callback cb) {
  auto* t = new Timer(std::move(cb));
  uv_timer_init(loop, &t->handle_);
  t->handle_.data = t;
  return t;
}

void Timer::start(std::chrono::milliseconds timeout, std::chrono::milliseconds repeat) {
  if (closing_) return;
  uv_timer_start(&handle_, on_timer, static_cast<uint64_t>(timeout.count()),
                 static_cast<uint64_t>(repeat.count()));
}

void Timer::stop() {
  if (!closing_) uv_timer_stop(&handle_);
}

bool Timer::active() const {
  return !closing_ && uv_is_active(reinterpret_cast<const uv_handle_t*>(&handle_));
}

void Timer::unref() { uv_unref(reinterpret_cast<uv_handle_t*>(&handle_)); }

void Timer::close() {
  if (closing_) return;
  closing_ = true;
  cb_ = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_), on_close);
}

void Timer::on_timer(uv_timer_t* handle) {
  auto* self = static_cast<Timer*>(handle->data);
  if (self->closing_ || !self->cb_) return;
  // Copy: the callback may close this timer (which clears cb_).
  auto cb = self->cb_;
  cb();
}

void Timer::on_close(uv_handle_t* handle) { delete static_cast<Timer*>(handle->data); }

}  // namespace lg
