#include "proxy/forwarder.hpp"

#include <nlohmann/json.hpp>

#include "core/log.hpp"
#include "core/manual_clock.hpp"
#include "proxy/buffer_pool.hpp"
#include "proxy/proxy_metrics.hpp"
#include "proxy/route.hpp"

namespace lg::proxy {

template <class Clock>
BasicForwarder<Clock>::BasicForwarder(uv_loop_t* loop, Clock clock, const config::ForwardSettings& settings,
                                      probes::HealthState& health, metrics::Registry& registry)
    : loop_(loop),
      clock_(clock),
      settings_(settings),
      health_(health),
      metrics_(std::make_unique<ProxyMetrics>(registry)),
      pool_(std::make_shared<BufferPool>()) {
  // The registry may outlive this forwarder (tests): the collector holds the pool weakly.
  std::weak_ptr<BufferPool> pool = pool_;
  metrics::Gauge* gauge = &metrics_->buffered_bytes();
  registry.add_collector([pool, gauge] {
    if (auto p = pool.lock()) gauge->set(static_cast<double>(p->buffered_bytes()));
    else gauge->set(0);
  });
}

template <class Clock>
BasicForwarder<Clock>::~BasicForwarder() {
  close_all();
  if (subscription_) health_.unsubscribe(subscription_);
}

// The component a route follows: its own (@COMPONENT) or --forward-health; nullptr when none
// or when that component is not probed (then the route forwards regardless, as with ignore).
template <class Clock>
const probes::Component* BasicForwarder<Clock>::followed(const config::ForwardRoute& route) const {
  const std::string& name = route.health ? *route.health : settings_.health_component;
  if (name.empty()) return nullptr;
  const probes::Component* c = health_.find(name);
  if (!c) {
    core::log::get("proxy").warn("{}: component '{}' is not probed: the route forwards regardless (ignore)", route.name,
                                 name);
  }
  return c;
}

template <class Clock>
bool BasicForwarder<Clock>::start(std::string* error) {
  bool any_followed = false;
  for (const auto& r : settings_.routes) {
    const probes::Component* follow = followed(r);
    any_followed = any_followed || follow != nullptr;
    routes_.push_back(
        std::make_unique<BasicRoute<Clock>>(loop_, clock_, r, settings_, metrics_->for_route(r.name), pool_, follow));
    if (!routes_.back()->start(error)) return false;
  }
  if (any_followed && settings_.health_mode == config::ForwardHealthMode::Hold) {
    subscription_ = health_.subscribe([this](const probes::Component& c, probes::Status) {
      for (auto& r : routes_) {
        if (r->follows() == &c) r->on_health_change();
      }
    });
  }
  return true;
}

template <class Clock>
void BasicForwarder<Clock>::stop_accepting() {
  for (auto& r : routes_) r->stop_accepting();
}

template <class Clock>
void BasicForwarder<Clock>::drain() {
  for (auto& r : routes_) r->drain();
}

template <class Clock>
size_t BasicForwarder<Clock>::active_sessions() const {
  size_t n = 0;
  for (const auto& r : routes_) n += r->active();
  return n;
}

template <class Clock>
size_t BasicForwarder<Clock>::held_sessions() const {
  size_t n = 0;
  for (const auto& r : routes_) n += r->held();
  return n;
}

template <class Clock>
void BasicForwarder<Clock>::close_all() {
  for (auto& r : routes_) r->close_all();
}

template <class Clock>
std::vector<int> BasicForwarder<Clock>::ports() const {
  std::vector<int> out;
  for (const auto& r : routes_) out.push_back(r->port());
  return out;
}

template <class Clock>
size_t BasicForwarder<Clock>::buffered_bytes() const { return pool_->buffered_bytes(); }

template <class Clock>
void BasicForwarder<Clock>::describe(nlohmann::json& status) const {
  nlohmann::json f;
  f["health_component"] = settings_.health_component;
  bool any_followed = false;
  for (const auto& r : routes_) any_followed = any_followed || r->follows() != nullptr;
  f["health_followed"] = any_followed;
  f["mode"] = any_followed ? config::health_mode_name(settings_.health_mode) : "ignore";
  f["hold_timeout_ms"] = settings_.hold_timeout.count();
  f["connect_timeout_ms"] = settings_.connect_timeout.count();
  f["idle_timeout_ms"] = settings_.idle_timeout.count();
  f["max_connections_per_route"] = settings_.max_connections;
  f["dns_ttl_ms"] = settings_.dns_ttl.count();
  f["active"] = active_sessions();
  f["buffered_bytes"] = pool_->buffered_bytes();
  f["routes"] = nlohmann::json::array();
  for (const auto& r : routes_) r->describe(f["routes"]);
  status["forward"] = std::move(f);
}

template class BasicForwarder<core::LoopClock>;
template class BasicForwarder<core::ManualClock>;

}  // namespace lg::proxy
