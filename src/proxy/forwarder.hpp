#pragma once
// Forwarder: the `letta` TCP routes (LISTEN=UPSTREAM). One Route per pair; each accepted
// client becomes a session (ProxySession) piping bytes both ways to a freshly resolved
// upstream, with backpressure and half-close, following a probed component's health.
// See docs/forwarder.md (behaviour, modes, limits, metrics) and docs/architecture.md.
#include <uv.h>

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <type_traits>
#include <vector>

#include "config/config.hpp"
#include "core/loop_clock.hpp"
#include "metrics/registry.hpp"
#include "probes/health_state.hpp"

namespace lg::proxy {

template <class Clock>
class BasicRoute;
class BufferPool;
class ProxyMetrics;

// Written against a Clock (core/loop_clock.hpp) for its sessions' hold, connect and idle
// deadlines: Forwarder runs on the loop's time; tests run BasicForwarder<ManualClock>.
template <class Clock>
class BasicForwarder {
 public:
  BasicForwarder(uv_loop_t* loop, Clock clock, const config::ForwardSettings& settings, probes::HealthState& health,
                 metrics::Registry& registry);
  // Production: the loop's own clock. (A member template: an explicit instantiation for
  // another Clock leaves it alone.)
  template <class C = Clock>
  requires std::is_same_v<C, core::LoopClock> BasicForwarder(uv_loop_t* loop, const config::ForwardSettings& settings,
                                                             probes::HealthState& health, metrics::Registry& registry)
      : BasicForwarder(loop, C(loop), settings, health, registry) {}
  ~BasicForwarder();
  BasicForwarder(const BasicForwarder&) = delete;
  BasicForwarder& operator=(const BasicForwarder&) = delete;

  // Binds every route's listener; on failure returns false with an error naming the route.
  bool start(std::string* error);
  // Closes the listeners; open sessions go on.
  void stop_accepting();
  // Drain: closes the listeners and every idle HTTP keep-alive session now; the others close
  // as soon as they are idle (or by themselves, when not HTTP).
  void drain();
  // Sessions still open, over all routes.
  size_t active_sessions() const;
  // End of the drain: closes every session and listener now.
  void close_all();
  // Listening ports (after start), in route order: tests bind port 0.
  std::vector<int> ports() const;
  // The "forward" section of /status.
  void describe(nlohmann::json& status) const;
  // Bytes held in proxy buffers for writes the kernel has not taken (all routes): the bound a
  // slow reader can make the forwarder hold.
  size_t buffered_bytes() const;
  // Clients waiting in hold mode (all routes).
  size_t held_sessions() const;

 private:
  uv_loop_t* loop_;
  Clock clock_;
  config::ForwardSettings settings_;
  probes::HealthState& health_;
  std::unique_ptr<ProxyMetrics> metrics_;
  std::shared_ptr<BufferPool> pool_;
  std::vector<std::unique_ptr<BasicRoute<Clock>>> routes_;
  const probes::Component* followed(const config::ForwardRoute& route) const;

  int subscription_ = 0;
};

using Forwarder = BasicForwarder<core::LoopClock>;

}  // namespace lg::proxy
