#include "proxy/route.hpp"

#include <nlohmann/json.hpp>
#include <unistd.h>

#include <vector>

#include "core/acceptor.hpp"
#include "core/clock.hpp"
#include "core/duration.hpp"
#include "core/log.hpp"
#include "core/manual_clock.hpp"
#include "proxy/proxy_session.hpp"

namespace lg::proxy {

namespace {
constexpr int kAcceptsPerTurn = 128;              // then the loop's other work gets its turn
constexpr uint64_t kFailureLogEveryMs = 10000;  // upstream failures: one warning per 10 s at most
}

template <class Clock>
BasicRoute<Clock>::BasicRoute(uv_loop_t* loop, Clock clock, const config::ForwardRoute& route,
                              const config::ForwardSettings& settings, RouteMetrics metrics,
                              std::shared_ptr<BufferPool> pool, const probes::Component* follow)
    : loop_(loop),
      clock_(clock),
      route_(route),
      settings_(settings),
      metrics_(metrics),
      pool_(std::move(pool)),
      follow_(follow),
      resolver_(loop, clock, route.upstream.host, route.upstream.port, settings.dns_ttl, route.name),
      log_(core::log::get("proxy")) {}

template <class Clock>
BasicRoute<Clock>::~BasicRoute() { close_all(); }

template <class Clock>
bool BasicRoute<Clock>::start(std::string* error) {
  core::Acceptor::Options options;
  options.name = route_.name;
  options.log_component = "proxy";
  options.per_turn = kAcceptsPerTurn;
  listener_ = core::Acceptor::open(
      loop_, route_.listen, std::move(options), [this](int fd) { on_accept(fd); },
      [this](int) { metrics_.accept_errors->inc(); }, error);
  if (!listener_) return false;
  port_ = listener_->port();
  log_.info("{}: forwarding {} (port {}) to {}, health: {}", route_.name, route_.listen.str(), port_,
             route_.upstream.str(), follow_ ? std::string(config::health_mode_name(settings_.health_mode)) + " on " + follow_->name : "not followed");
  return true;
}

template <class Clock>
void BasicRoute<Clock>::stop_accepting() {
  if (!listener_) return;
  listener_->close();
  listener_ = nullptr;
}

template <class Clock>
void BasicRoute<Clock>::drain() {
  stop_accepting();
  std::vector<ProxySession*> open(sessions_.begin(), sessions_.end());
  for (auto* s : open) s->drain();  // an idle one closes (and leaves sessions_) at once
}

template <class Clock>
void BasicRoute<Clock>::close_all() {
  stop_accepting();
  std::vector<ProxySession*> open(sessions_.begin(), sessions_.end());
  for (auto* s : open) s->close();  // each one calls on_session_closed and lets go of this route
  sessions_.clear();
  held_.clear();
}

template <class Clock>
bool BasicRoute<Clock>::upstream_ready() const {
  if (!follow_ || settings_.health_mode == config::ForwardHealthMode::Ignore) return true;
  return follow_->status == probes::Status::Up || follow_->status == probes::Status::Degraded;
}

template <class Clock>
void BasicRoute<Clock>::on_accept(int fd) {
  metrics_.accepted->inc();
  if (static_cast<int>(sessions_.size()) >= settings_.max_connections) {
    ::close(fd);
    metrics_.rejected_by(RejectReason::Limit).inc();
    return;
  }
  ProxySession* s = ProxySession::accept(loop_, clock_, this, pool_, fd);
  if (!s) return;
  sessions_.insert(s);
  metrics_.active->inc();
  if (upstream_ready()) {
    s->connect();
  } else if (settings_.health_mode == config::ForwardHealthMode::Reject) {
    metrics_.rejected_by(RejectReason::Unhealthy).inc();
    s->close();
  } else {
    held_.push_back(s);
    s->held_at = std::prev(held_.end());
    s->held = true;
    s->hold(settings_.hold_timeout);
  }
}

template <class Clock>
void BasicRoute<Clock>::on_health_change() {
  if (held_.empty() || !upstream_ready()) return;
  log_.info("{}: {} is up: connecting {} held client(s)", route_.name, follow_->name, held_.size());
  std::vector<ProxySession*> waiting(held_.begin(), held_.end());
  for (auto* s : waiting) s->held = false;
  held_.clear();
  for (auto* s : waiting) s->release();
}

template <class Clock>
void BasicRoute<Clock>::on_hold_timeout(ProxySession*) { metrics_.rejected_by(RejectReason::HoldTimeout).inc(); }

template <class Clock>
void BasicRoute<Clock>::on_session_closed(ProxySession* s) {
  if (s->held) {
    held_.erase(s->held_at);
    s->held = false;
  }
  if (sessions_.erase(s) == 0) return;
  metrics_.active->dec();
  metrics_.duration_seconds->observe(core::mono_seconds() - s->accepted_at());
}

template <class Clock>
void BasicRoute<Clock>::on_connect_failed(int status, bool dns, const core::Addresses& tried, bool retrying) {
  const ConnectError reason = dns ? ConnectError::Dns : classify_connect_error(status);
  (retrying ? metrics_.retry(reason) : metrics_.connect_error(reason)).inc();
  if (!dns) resolver_.invalidate(tried);  // the container may have moved: resolve afresh
  signal_failure(to_string(reason));
  // One warning per burst (and a reminder every 10 s while it lasts), not one per client.
  const uint64_t now = clock_.now_ms();
  ++(retrying ? retries_unlogged_ : failures_unlogged_);
  if (!failing_ || now - last_failure_log_ms_ >= kFailureLogEveryMs) {
    log_.warn(
        "{}: cannot connect to {}: {} ({}; since the last report {} client(s) closed, {} connect(s) retried "
        "with the client held, for up to {} after its accept)",
        route_.name, route_.upstream.str(), uv_strerror(status), to_string(reason), failures_unlogged_,
        retries_unlogged_, core::format_duration(settings_.hold_timeout));
    failures_unlogged_ = 0;
    retries_unlogged_ = 0;
    last_failure_log_ms_ = now;
    failing_ = true;
  }
  ++(retrying ? connect_retries_ : connect_failures_);
}

// The followed component's runner hears of it (HAProxy's `observe layer4`): it probes again at
// once rather than at its next interval; it does not mark the component down on this alone.
template <class Clock>
void BasicRoute<Clock>::signal_failure(const char* reason) {
  if (follow_ && follow_->on_passive) follow_->on_passive("forwarder", reason);
}

template <class Clock>
void BasicRoute<Clock>::on_connect_ok() {
  if (!failing_) return;
  failing_ = false;
  log_.info("{}: connected to {} again", route_.name, route_.upstream.str());
}

template <class Clock>
void BasicRoute<Clock>::describe(nlohmann::json& out) const {
  nlohmann::json r;
  r["route"] = route_.name;
  r["listen"] = route_.listen.str();
  r["port"] = port_;
  r["upstream"] = route_.upstream.str();
  r["resolved"] = resolver_.last_answer();
  if (!resolver_.last_error().empty()) r["resolve_error"] = resolver_.last_error();
  r["accepting"] = listener_ != nullptr;
  r["accept_paused"] = listener_ != nullptr && listener_->paused();
  r["active"] = sessions_.size();
  // Held: every client waiting before its upstream, for the component (the hold queue) or
  // retrying a failed connect (proxy_session.hpp); `retrying` says how many are the latter.
  size_t retrying = 0;
  for (const auto* s : sessions_) retrying += s->retrying() && !s->held ? 1 : 0;
  r["held"] = held_.size() + retrying;
  r["retrying"] = retrying;
  r["mode"] = follow_ ? config::health_mode_name(settings_.health_mode) : "ignore";
  r["follows"] = follow_ ? follow_->name : "";
  if (follow_) r["follows_status"] = probes::to_string(follow_->status);
  r["upstream_ready"] = upstream_ready();
  r["connect_failures"] = connect_failures_;
  r["connect_retries"] = connect_retries_;
  out.push_back(std::move(r));
}

template class BasicRoute<core::LoopClock>;
template class BasicRoute<core::ManualClock>;

}  // namespace lg::proxy
