#pragma once
// WaitSession: the loop side of `lettagate wait`. It runs the same probes as `serve` (no HTTP
// server, no forwarder) until the gate is ready, the timeout passes, or SIGINT/SIGTERM, and
// tells a WaitView what happens. Owns its runners, one ticker Timer and two signal handles;
// after finish() every handle is closed and uv_run returns once their close callbacks ran.
#include <uv.h>

#include <memory>
#include <vector>

#include "app/wait_view.hpp"
#include "config/config.hpp"
#include "core/signal.hpp"
#include "core/timer.hpp"
#include "metrics/registry.hpp"
#include "probes/health_state.hpp"
#include "probes/probe_metrics.hpp"
#include "probes/probe_runner.hpp"

namespace lg::app {

class WaitSession {
 public:
  WaitSession(uv_loop_t* loop, const config::Config& config, core::Millis timeout, WaitView& view);
  ~WaitSession();
  WaitSession(const WaitSession&) = delete;
  WaitSession& operator=(const WaitSession&) = delete;

  void start();
  bool finished() const { return finished_; }
  const WaitOutcome& outcome() const { return outcome_; }

 private:
  void on_tick();
  void finish(bool ready, bool interrupted);
  void close_handles();  // idempotent: the runners, the ticker, the signal handles
  bool optional_components_reported() const;
  double elapsed_s() const;

  uv_loop_t* loop_;
  config::Config config_;
  core::Millis timeout_;
  WaitView& view_;
  metrics::Registry registry_;  // the runners record metrics; nothing serves them here
  probes::HealthState health_;
  std::unique_ptr<probes::ProbeMetrics> probe_metrics_;
  std::vector<std::unique_ptr<probes::ProbeRunner>> runners_;
  core::Timer* ticker_ = nullptr;
  std::vector<core::Signal*> signals_;
  int listener_ = 0;
  double started_ = 0;
  double optional_wait_s_ = 0;  // how long a ready gate waits for optional components' first result
  bool finished_ = false;
  WaitOutcome outcome_;
};

}  // namespace lg::app
