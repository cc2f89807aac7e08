#include "proxy/forwarder.hpp"

#include <nlohmann/json.hpp>

#include "core/log.hpp"
#include "proxy/buffer_pool.hpp"
#include "proxy/proxy_metrics.hpp"
#include "proxy/route.hpp"

namespace lg::proxy {

namespace {
const char* mode_name(ForwardHealthMode m) {
  switch (m) {
    case ForwardHealthMode::Hold: return "hold";
    case ForwardHealthMode::Reject: return "reject";
    case ForwardHealthMode::Ignore: return "ignore";
  }
  return "hold";
}
}  // namespace

Forwarder::Forwarder(uv_loop_t* loop, const ForwardSettings& settings, probes::HealthState& health,
                     metrics::Registry& registry)
    : loop_(loop),
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

Forwarder::~Forwarder() {
  close_all();
  if (subscription_) health_.unsubscribe(subscription_);
}

bool Forwarder::start(std::string* error) {
  if (!settings_.health_component.empty()) {
    follow_ = health_.find(settings_.health_component);
    if (!follow_ && !settings_.routes.empty()) {
      log::get("proxy").warn("forward-health: component '{}' is not probed: routes forward regardless (ignore)",
                              settings_.health_component);
    }
  }
  for (const auto& r : settings_.routes) {
    routes_.push_back(std::make_unique<Route>(loop_, r, settings_, metrics_->for_route(r.name), pool_, follow_));
    if (!routes_.back()->start(error)) return false;
  }
  if (follow_ && settings_.health_mode == ForwardHealthMode::Hold) {
    subscription_ = health_.subscribe([this](const probes::Component& c, probes::Status) {
      if (&c != follow_) return;
      for (auto& r : routes_) r->on_health_change();
    });
  }
  return true;
}

void Forwarder::stop_accepting() {
  for (auto& r : routes_) r->stop_accepting();
}

size_t Forwarder::active_sessions() const {
  size_t n = 0;
  for (const auto& r : routes_) n += r->active();
  return n;
}

size_t Forwarder::held_sessions() const {
  size_t n = 0;
  for (const auto& r : routes_) n += r->held();
  return n;
}

void Forwarder::close_all() {
  for (auto& r : routes_) r->close_all();
}

std::vector<int> Forwarder::ports() const {
  std::vector<int> out;
  for (const auto& r : routes_) out.push_back(r->port());
  return out;
}

size_t Forwarder::buffered_bytes() const { return pool_->buffered_bytes(); }

void Forwarder::describe(nlohmann::json& status) const {
  nlohmann::json f;
  f["health_component"] = settings_.health_component;
  f["health_followed"] = follow_ != nullptr;
  f["mode"] = follow_ ? mode_name(settings_.health_mode) : "ignore";
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

}  // namespace lg::proxy
