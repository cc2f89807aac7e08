#include "core/busy_poll.hpp"

namespace lg {

BusyPoll::BusyPoll(std::chrono::microseconds window)
    : window_ns_(static_cast<uint64_t>(std::chrono::nanoseconds(window).count())) {}

BusyPoll* BusyPoll::start(uv_loop_t* loop, std::chrono::microseconds window) {
  auto* b = new BusyPoll(window);
  uv_check_init(loop, &b->check_);
  uv_idle_init(loop, &b->idle_);
  b->check_.data = b;
  b->idle_.data = b;
  b->open_handles_ = 2;
  uv_check_start(&b->check_, on_check);
  uv_unref(reinterpret_cast<uv_handle_t*>(&b->check_));
  uv_unref(reinterpret_cast<uv_handle_t*>(&b->idle_));
  return b;
}

// After every poll. An inactive idle handle means that poll could block: open a window.
void BusyPoll::on_check(uv_check_t* handle) {
  auto* self = static_cast<BusyPoll*>(handle->data);
  if (uv_is_active(reinterpret_cast<uv_handle_t*>(&self->idle_))) return;
  self->until_ns_ = uv_hrtime() + self->window_ns_;
  ++self->windows_;
  uv_idle_start(&self->idle_, on_idle);
}

// Once per loop turn while the window is open; closing it lets the next poll block.
void BusyPoll::on_idle(uv_idle_t* handle) {
  auto* self = static_cast<BusyPoll*>(handle->data);
  if (uv_hrtime() >= self->until_ns_) uv_idle_stop(handle);
}

void BusyPoll::close() {
  if (closing_) return;
  closing_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&check_), on_close);
  uv_close(reinterpret_cast<uv_handle_t*>(&idle_), on_close);
}

void BusyPoll::on_close(uv_handle_t* handle) {
  auto* self = static_cast<BusyPoll*>(handle->data);
  if (--self->open_handles_ == 0) delete self;
}

}  // namespace lg
