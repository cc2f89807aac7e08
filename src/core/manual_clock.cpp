#include "core/manual_clock.hpp"

namespace lg::core {

void ManualTimer::start(std::chrono::milliseconds timeout, std::chrono::milliseconds repeat) {
  if (closed_) return;
  due_ = time_.now_ + static_cast<uint64_t>(timeout.count());
  repeat_ = static_cast<uint64_t>(repeat.count());
  order_ = ++time_.order_;
  armed_ = true;
  ++time_.starts_;
}

uint64_t ManualTimer::due_in() const { return armed_ && due_ > time_.now_ ? due_ - time_.now_ : 0; }

void ManualTimer::close() {
  closed_ = true;
  armed_ = false;
  cb_ = nullptr;
}

ManualTimer* ManualTime::make(ManualTimer::Callback cb) {
  timers_.push_back(std::unique_ptr<ManualTimer>(new ManualTimer(*this, std::move(cb))));
  return timers_.back().get();
}

ManualTimer* ManualTime::next_due() const {
  ManualTimer* next = nullptr;
  for (const auto& t : timers_) {
    if (!t->armed_) continue;
    if (!next || t->due_ < next->due_ || (t->due_ == next->due_ && t->order_ < next->order_)) next = t.get();
  }
  return next;
}

size_t ManualTime::armed() const {
  size_t n = 0;
  for (const auto& t : timers_) n += t->armed_ ? 1 : 0;
  return n;
}

// As libuv: a repeating timer is re-armed before its callback runs (which may stop it).
void ManualTime::fire(ManualTimer* t) {
  if (t->due_ > now_) now_ = t->due_;
  t->armed_ = false;
  if (t->repeat_ > 0) t->start(std::chrono::milliseconds(t->repeat_), std::chrono::milliseconds(t->repeat_));
  if (!t->cb_) return;
  ManualTimer::Callback cb = t->cb_;  // the callback may close its timer
  cb();
}

void ManualTime::advance(std::chrono::milliseconds by) {
  const uint64_t until = now_ + static_cast<uint64_t>(by.count());
  while (ManualTimer* t = next_due()) {
    if (t->due_ > until) break;
    fire(t);
  }
  now_ = until;
}

bool ManualTime::fire_next() {
  ManualTimer* t = next_due();
  if (!t) return false;
  const uint64_t at = t->due_;
  while ((t = next_due()) && t->due_ <= at) fire(t);
  return true;
}

}  // namespace lg::core
