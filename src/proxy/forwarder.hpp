#pragma once
// Forwarder: the `letta` TCP routes (LISTEN=UPSTREAM). One Route per pair; each accepted
// client becomes a session piping bytes both ways to a freshly resolved upstream.
// See docs/architecture.md and docs/configuration.md (Forwarder).
#include <uv.h>

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "metrics/registry.hpp"
#include "probes/health_state.hpp"

namespace lg::proxy {

class Route;

class Forwarder {
 public:
  Forwarder(uv_loop_t* loop, const ForwardSettings& settings, probes::HealthState& health,
            metrics::Registry& registry);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // Binds every route's listener; on failure returns false with an error naming the route.
  bool start(std::string* error);
  // Drain: closes the listeners; open sessions go on.
  void stop_accepting();
  // Sessions still open, over all routes.
  size_t active_sessions() const;
  // End of the drain: closes every session and listener now.
  void close_all();
  // Listening ports (after start), in route order: tests bind port 0.
  std::vector<int> ports() const;
  // The "forward" section of /status.
  void describe(nlohmann::json& status) const;

 private:
  std::vector<std::unique_ptr<Route>> routes_;
};

}  // namespace lg::proxy
