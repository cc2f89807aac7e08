#pragma once
// App: wires the loop, the health state, the probes, the health server and the forwarder
// for `lettagate serve`, and runs the graceful stop.
#include <uv.h>

#include <memory>
#include <vector>

#include "config/config.hpp"
#include "core/signal.hpp"
#include "core/timer.hpp"
#include "http/http_server.hpp"
#include "metrics/registry.hpp"
#include "app/health_documents.hpp"
#include "probes/health_state.hpp"
#include "probes/probe_metrics.hpp"
#include "probes/probe_runner.hpp"
#include "proxy/forwarder.hpp"

namespace lg::app {

class App {
 public:
  App(uv_loop_t* loop, config::Config config);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Binds the listeners and starts the probes; false with a message when a listener fails.
  bool start(std::string* error);
  // SIGTERM/SIGINT: readiness 503 "draining" at once, forwarder listeners close, open
  // sessions get drain_timeout to finish, then stop(). A second signal stops at once.
  void drain();
  // Closes every handle; uv_run returns once they are closed.
  void stop();

  probes::HealthState& health() { return health_; }
  metrics::Registry& registry() { return registry_; }
  int http_port() const { return server_ ? server_->port() : 0; }
  proxy::Forwarder* forwarder() { return forwarder_.get(); }

 private:
  void watch_signals();
  void apply_fd_budget();
  void on_drain_tick();

  uv_loop_t* loop_;
  config::Config config_;
  metrics::Registry registry_;
  probes::HealthState health_;
  ReadyzDocument readyz_{health_};
  StatusDocument status_{health_};
  std::unique_ptr<probes::ProbeMetrics> probe_metrics_;
  std::vector<std::unique_ptr<probes::ProbeRunner>> runners_;
  std::unique_ptr<http::HttpServer> server_;
  std::unique_ptr<proxy::Forwarder> forwarder_;
  std::vector<core::Signal*> signals_;
  core::Timer* drain_timer_ = nullptr;
  double drain_started_ = 0;
  bool draining_ = false;
  bool stopped_ = false;
};

// The health server's routes: /livez /readyz /status /metrics (and the status page at /).
http::HttpServer::Handler make_routes(const probes::HealthState& health, const ReadyzDocument& readyz,
                                      const StatusDocument& status, metrics::Registry& registry);

}  // namespace lg::app
