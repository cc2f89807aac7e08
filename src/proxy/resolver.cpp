#include "proxy/resolver.hpp"

#include "core/log.hpp"
#include "core/manual_clock.hpp"
#include "core/net_address.hpp"

namespace lg::proxy {

template <class Clock>
BasicResolver<Clock>::BasicResolver(uv_loop_t* loop, Clock clock, std::string host, uint16_t port, core::Millis ttl,
                                    std::string log_name)
    : loop_(loop), clock_(clock), host_(std::move(host)), port_(port), ttl_(ttl), log_name_(std::move(log_name)) {
  if (auto addr = core::parse_ip_literal(host_, port_)) {
    literal_ = true;
    cached_ = std::make_shared<const core::AddressList>(core::AddressList{*addr});
  }
}

template <class Clock>
BasicResolver<Clock>::~BasicResolver() {
  if (inflight_) inflight_->cancel();  // the query frees itself; its answer never comes
}

template <class Clock>
core::Addresses BasicResolver<Clock>::lookup(ResolveWaiter* waiter) {
  if (cached_ && (literal_ || clock_.now_ms() < expires_)) return cached_;
  waiters_.push_back(waiter);
  if (!inflight_) start_lookup();
  return nullptr;
}

template <class Clock>
void BasicResolver<Clock>::cancel(ResolveWaiter* waiter) {
  for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
    if (*it == waiter) {
      waiters_.erase(it);
      return;
    }
  }
}

template <class Clock>
void BasicResolver<Clock>::invalidate(const core::Addresses& failed) {
  if (!literal_ && failed && failed == cached_) expires_ = 0;
}

template <class Clock>
void BasicResolver<Clock>::start_lookup() {
  ++lookups_;
  inflight_ = core::DnsQuery::start(loop_, host_, port_, [this](int status, const core::Addresses& answer) {
    inflight_ = nullptr;
    on_answer(status, answer);
  });
}

template <class Clock>
void BasicResolver<Clock>::on_answer(int status, const core::Addresses& answer) {
  if (status == 0) {
    const std::string before = cached_ ? last_answer() : std::string();
    cached_ = answer;
    expires_ = clock_.now_ms() + static_cast<uint64_t>(ttl_.count());
    const std::string now = last_answer();
    if (now != before) core::log::get("proxy").info("{}: {} resolves to {}", log_name_, host_, now);
    last_error_.clear();
  } else {
    // No stale answer: when the name is gone, so is the container behind it.
    cached_ = nullptr;
    const std::string why = uv_strerror(status);
    if (why != last_error_) core::log::get("proxy").warn("{}: cannot resolve {}: {}", log_name_, host_, why);
    last_error_ = why;
  }
  // Callbacks may cancel or add waiters: work on the list as it is now.
  std::vector<ResolveWaiter*> waiting;
  waiting.swap(waiters_);
  for (ResolveWaiter* w : waiting) w->on_resolved(status, answer);
}

template <class Clock>
std::string BasicResolver<Clock>::last_answer() const {
  if (!cached_) return {};
  std::string out;
  for (const auto& a : *cached_) {
    if (!out.empty()) out += ", ";
    out += core::format_address(a);
  }
  return out;
}

template class BasicResolver<core::LoopClock>;
template class BasicResolver<core::ManualClock>;

}  // namespace lg::proxy
