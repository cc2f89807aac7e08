#pragma once
// Route: one LISTEN=UPSTREAM pair. Owns the listener, the upstream's resolver, the open
// sessions and the hold queue; applies the connection cap and the health mode to each new
// client; keeps the route's metrics (label route = the route as written).
//
// Health: a route follows one probed component (its own @COMPONENT, else
// settings.health_component). While that
// component is not up (down or unknown), new clients are
//   hold   : kept (their first bytes read, nothing forwarded) until it is up, then connected
//            in arrival order; closed after hold_timeout (rejected, reason hold_timeout).
//   reject : closed at once (rejected, reason unhealthy).
//   ignore : forwarded regardless.
// A component that is not probed (or health_component "") means ignore. Up and degraded
// both count as up. Sessions already streaming are never cut by a health change.
// Whatever the health, a session whose upstream connect fails retries it until hold_timeout
// after its accept (not in reject mode: proxy_session.hpp); each failure is also a passive
// signal to the followed component (signal_failure).
#include <uv.h>

#include <list>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <unordered_set>

#include "config/config.hpp"
#include "core/loop_clock.hpp"
#include "core/log.hpp"
#include "probes/health_state.hpp"
#include "proxy/buffer_pool.hpp"
#include "proxy/proxy_metrics.hpp"
#include "proxy/resolver.hpp"

namespace lg::core {
class Acceptor;
}

namespace lg::proxy {

template <class Clock>
class BasicProxySession;

// On a Clock (core/loop_clock.hpp), which its sessions run on: see proxy_session.hpp.
template <class Clock>
class BasicRoute {
 public:
  using ProxySession = BasicProxySession<Clock>;
  BasicRoute(uv_loop_t* loop, Clock clock, const config::ForwardRoute& route, const config::ForwardSettings& settings,
             RouteMetrics metrics, std::shared_ptr<BufferPool> pool, const probes::Component* follow);
  ~BasicRoute();
  BasicRoute(const BasicRoute&) = delete;
  BasicRoute& operator=(const BasicRoute&) = delete;

  bool start(std::string* error);
  void stop_accepting();
  // Drain: stops accepting and asks every session to close once idle (ProxySession::drain).
  void drain();
  void close_all();
  size_t active() const { return sessions_.size(); }
  size_t held() const { return held_.size(); }
  int port() const { return port_; }
  const probes::Component* follows() const { return follow_; }
  bool accepting() const { return listener_ != nullptr; }
  // The followed component changed state (from the HealthState listener).
  void on_health_change();
  void describe(nlohmann::json& out) const;

  // For sessions.
  const std::string& name() const { return route_.name; }
  const config::ForwardSettings& settings() const { return settings_; }
  BasicResolver<Clock>& resolver() { return resolver_; }
  RouteMetrics& metrics() { return metrics_; }
  const core::log::Logger& log() const { return log_; }
  void on_session_closed(ProxySession* s);
  void on_hold_timeout(ProxySession* s);
  // A session's upstream connect failed: `retrying` when the session holds its client and
  // tries again (counted as a retry), else the client is closed (counted as a connect error).
  void on_connect_failed(int status, bool dns, const core::Addresses& tried, bool retrying);
  void on_connect_ok();
  // The upstream failed in a way that says the server may be gone (a connect failed, a reset
  // before any reply): a passive signal to the followed component.
  void signal_failure(const char* reason);

 private:
  void on_accept(int fd);
  bool upstream_ready() const;

  uv_loop_t* loop_;
  Clock clock_;
  config::ForwardRoute route_;
  const config::ForwardSettings& settings_;
  RouteMetrics metrics_;
  std::shared_ptr<BufferPool> pool_;
  const probes::Component* follow_;  // nullptr: forward regardless
  BasicResolver<Clock> resolver_;
  core::log::Logger log_;
  core::Acceptor* listener_ = nullptr;  // frees itself after close()
  int port_ = 0;
  std::unordered_set<ProxySession*> sessions_;
  std::list<ProxySession*> held_;
  uint64_t connect_failures_ = 0;
  uint64_t connect_retries_ = 0;
  uint64_t failures_unlogged_ = 0;
  uint64_t retries_unlogged_ = 0;
  uint64_t last_failure_log_ms_ = 0;
  bool failing_ = false;
};

using Route = BasicRoute<core::LoopClock>;

}  // namespace lg::proxy
