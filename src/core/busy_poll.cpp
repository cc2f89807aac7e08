#include "core/busy_poll.hpp"

#include <algorithm>

namespace lg {

BusyPoll::BusyPoll(std::chrono::microseconds max_window)
    : max_ns_(static_cast<uint64_t>(std::chrono::nanoseconds(max_window).count())) {}

BusyPoll* BusyPoll::start(uv_loop_t* loop, std::chrono::microseconds max_window) {
  auto* b = new BusyPoll(max_window);
  uv_check_init(loop, &b->check_);
  uv_idle_init(loop, &b->idle_);
  b->check_.data = b;
  b->idle_.data = b;
  b->open_handles_ = 2;
  b->may_block(uv_hrtime());
  uv_check_start(&b->check_, on_check);
  uv_unref(reinterpret_cast<uv_handle_t*>(&b->check_));
  uv_unref(reinterpret_cast<uv_handle_t*>(&b->idle_));
  return b;
}

uint64_t BusyPoll::next_window(uint64_t window_ns, uint64_t slept_ns, uint64_t max_ns) {
  if (slept_ns > max_ns) return 0;  // no window within the bound would have caught it
  if (window_ns + slept_ns <= max_ns) {  // a window up to the bound would have caught it
    return std::min(max_ns, window_ns == 0 ? kGrowStartNs : window_ns * 2);
  }
  return window_ns;
}

// After every poll. An inactive idle handle means that poll could block: size the next window
// by how long it slept, then open it (or let the next poll block at once).
void BusyPoll::on_check(uv_check_t* handle) {
  auto* self = static_cast<BusyPoll*>(handle->data);
  if (uv_is_active(reinterpret_cast<uv_handle_t*>(&self->idle_))) return;
  const uint64_t now = uv_hrtime();
  self->window_ns_ = next_window(self->window_ns_, now - self->block_from_ns_, self->max_ns_);
  if (self->window_ns_ == 0) {
    self->may_block(now);
    return;
  }
  self->opened_ns_ = now;
  ++self->windows_;
  uv_idle_start(&self->idle_, on_idle);
}

// Once per loop turn while the window is open; closing it lets the next poll block.
void BusyPoll::on_idle(uv_idle_t* handle) {
  auto* self = static_cast<BusyPoll*>(handle->data);
  const uint64_t now = uv_hrtime();
  if (now - self->opened_ns_ < self->window_ns_) return;
  uv_idle_stop(handle);
  self->in_windows_ns_ += now - self->opened_ns_;
  self->may_block(now);
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
