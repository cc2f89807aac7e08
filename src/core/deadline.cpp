#include "core/deadline.hpp"

namespace lg {

Deadline::Deadline(uv_loop_t* loop, std::function<void()> on_expiry)
    : loop_(loop), timer_(Timer::create(loop, [this] { on_timer(); })), on_expiry_(std::move(on_expiry)) {}

void Deadline::set(Millis from_now) {
  deadline_ = uv_now(loop_) + static_cast<uint64_t>(from_now.count());
  if (armed_at_ == 0 || deadline_ < armed_at_) arm(deadline_);
}

void Deadline::close() {
  if (!timer_) return;
  timer_->close();
  timer_ = nullptr;
  deadline_ = 0;
}

void Deadline::arm(uint64_t at) {
  if (!timer_) return;
  const uint64_t now = uv_now(loop_);
  timer_->start(Millis(at > now ? at - now : 0));
  armed_at_ = at;
}

void Deadline::on_timer() {
  armed_at_ = 0;
  if (deadline_ == 0) return;  // cleared since it was armed
  if (uv_now(loop_) < deadline_) {
    arm(deadline_);  // moved later since it was armed
    return;
  }
  deadline_ = 0;
  on_expiry_();  // may close this Deadline (and its owner)
}

}  // namespace lg
