#include "proxy/resolver.hpp"

#include "core/log.hpp"
#include "core/net_address.hpp"

namespace lg::proxy {

Resolver::Resolver(uv_loop_t* loop, std::string host, uint16_t port, core::Millis ttl, std::string log_name)
    : loop_(loop), host_(std::move(host)), port_(port), ttl_(ttl), log_name_(std::move(log_name)) {
  if (auto addr = core::parse_ip_literal(host_, port_)) {
    literal_ = true;
    cached_ = std::make_shared<const core::AddressList>(core::AddressList{*addr});
  }
}

Resolver::~Resolver() {
  if (inflight_) inflight_->cancel();  // the query frees itself; its answer never comes
}

core::Addresses Resolver::lookup(ResolveWaiter* waiter) {
  if (cached_ && (literal_ || uv_now(loop_) < expires_)) return cached_;
  waiters_.push_back(waiter);
  if (!inflight_) start_lookup();
  return nullptr;
}

void Resolver::cancel(ResolveWaiter* waiter) {
  for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
    if (*it == waiter) {
      waiters_.erase(it);
      return;
    }
  }
}

void Resolver::invalidate(const core::Addresses& failed) {
  if (!literal_ && failed && failed == cached_) expires_ = 0;
}

void Resolver::start_lookup() {
  ++lookups_;
  inflight_ = core::DnsQuery::start(loop_, host_, port_, [this](int status, const core::Addresses& answer) {
    inflight_ = nullptr;
    on_answer(status, answer);
  });
}

void Resolver::on_answer(int status, const core::Addresses& answer) {
  if (status == 0) {
    const std::string before = cached_ ? last_answer() : std::string();
    cached_ = answer;
    expires_ = uv_now(loop_) + static_cast<uint64_t>(ttl_.count());
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

std::string Resolver::last_answer() const {
  if (!cached_) return {};
  std::string out;
  for (const auto& a : *cached_) {
    if (!out.empty()) out += ", ";
    out += core::format_address(a);
  }
  return out;
}

}  // namespace lg::proxy
