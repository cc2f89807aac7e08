#include "proxy/resolver.hpp"

#include "core/log.hpp"
#include "core/net_address.hpp"

namespace lg::proxy {

// Outlives the Resolver when it is destroyed mid-lookup: the answer then finds owner == nullptr.
struct Resolver::Request {
  uv_getaddrinfo_t req{};
  uv_timer_t timer{};  // only when uv_getaddrinfo failed at once
  Resolver* owner = nullptr;
  bool failed = false;
  int status = 0;
};

Resolver::Resolver(uv_loop_t* loop, std::string host, uint16_t port, Millis ttl, std::string log_name)
    : loop_(loop), host_(std::move(host)), port_(port), ttl_(ttl), log_name_(std::move(log_name)) {
  if (auto addr = parse_ip_literal(host_, port_)) {
    literal_ = true;
    cached_ = std::make_shared<const AddressList>(AddressList{*addr});
  }
}

Resolver::~Resolver() {
  if (inflight_) {
    inflight_->owner = nullptr;
    // Best effort; either way the callback comes and frees the request.
    if (!inflight_->failed) uv_cancel(reinterpret_cast<uv_req_t*>(&inflight_->req));
  }
}

Addresses Resolver::lookup(ResolveWaiter* waiter) {
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

void Resolver::invalidate(const Addresses& failed) {
  if (!literal_ && failed && failed == cached_) expires_ = 0;
}

void Resolver::start_lookup() {
  auto* r = new Request;
  r->owner = this;
  r->req.data = r;
  const addrinfo hints = tcp_lookup_hints();
  ++lookups_;
  const std::string port = std::to_string(port_);
  int rc = uv_getaddrinfo(
      loop_, &r->req,
      [](uv_getaddrinfo_t* req, int status, addrinfo* res) {
        auto* request = static_cast<Request*>(req->data);
        Resolver* owner = request->owner;
        delete request;
        if (owner) {
          owner->inflight_ = nullptr;
          owner->on_answer(status, res);
        }
        uv_freeaddrinfo(res);
      },
      host_.c_str(), port.c_str(), &hints);
  inflight_ = r;
  if (rc != 0) {
    // Refused at once (bad arguments, no memory): report on the next turn of the loop, as the
    // contract says, through a zero timer owned by the request.
    r->failed = true;
    r->status = rc;
    uv_timer_init(loop_, &r->timer);
    r->timer.data = r;
    uv_timer_start(&r->timer, [](uv_timer_t* h) {
      auto* request = static_cast<Request*>(h->data);
      Resolver* owner = request->owner;
      const int status = request->status;
      uv_close(reinterpret_cast<uv_handle_t*>(h), [](uv_handle_t* hh) { delete static_cast<Request*>(hh->data); });
      if (owner) {
        owner->inflight_ = nullptr;
        owner->on_answer(status, nullptr);
      }
    }, 0, 0);
  }
}

void Resolver::on_answer(int status, addrinfo* res) {
  Addresses answer;
  if (status == 0) {
    auto list = std::make_shared<AddressList>(answer_addresses(res));
    if (list->empty()) status = UV_EAI_NODATA;
    else answer = std::move(list);
  }
  if (status == 0) {
    const std::string before = cached_ ? last_answer() : std::string();
    cached_ = answer;
    expires_ = uv_now(loop_) + static_cast<uint64_t>(ttl_.count());
    const std::string now = last_answer();
    if (now != before) log::get("proxy").info("{}: {} resolves to {}", log_name_, host_, now);
    last_error_.clear();
  } else {
    // No stale answer: when the name is gone, so is the container behind it.
    cached_ = nullptr;
    const std::string why = uv_strerror(status);
    if (why != last_error_) log::get("proxy").warn("{}: cannot resolve {}: {}", log_name_, host_, why);
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
    out += format_address(a);
  }
  return out;
}

}  // namespace lg::proxy
