#pragma once
// Probe metrics, named as blackbox_exporter names them (probe_success, probe_duration_seconds,
// probe_http_status_code) so existing dashboards fit, plus what blackbox never had: attempt,
// success and failure counters, the failure reason as a label, and the damped state.
#include <map>
#include <string>

#include "config/components.hpp"
#include "metrics/registry.hpp"
#include "probes/health_state.hpp"

namespace lg::probes {

class ProbeMetrics {
 public:
  ProbeMetrics(metrics::Registry& r, HealthState& health);
  // One attempt finished (raw result) for `c`, which reports what `reports` says (its component
  // description, config/components.hpp): probe_http_status_code, letta_server_info.
  void observe(const Component& c, const Outcome& o, const config::Reports& reports);
  // The damped state of `c` after the attempt (and whether it changed).
  void state(const Component& c, bool changed);
  // A passive signal about `c` (Component::on_passive).
  void passive(const Component& c, const char* source, const char* reason);

 private:
  // lettagate_component_blocked_by{component, by}: 1 for the latest cause, 0 once it passed.
  void blocked(const std::string& component, const std::string& by);

  metrics::Family<metrics::Gauge>& success_;
  metrics::Family<metrics::Gauge>& duration_;
  metrics::Family<metrics::Gauge>& http_status_;
  metrics::Family<metrics::Counter>& attempts_;
  metrics::Family<metrics::Counter>& successes_;
  metrics::Family<metrics::Counter>& failures_;
  metrics::Family<metrics::Histogram>& latency_;
  metrics::Family<metrics::Gauge>& up_;
  metrics::Family<metrics::Gauge>& status_;
  metrics::Family<metrics::Counter>& transitions_;
  metrics::Family<metrics::Gauge>& letta_info_;
  metrics::Family<metrics::Gauge>& letta_agents_;
  metrics::Family<metrics::Gauge>& pgvector_info_;
  metrics::Family<metrics::Gauge>& redis_info_;
  metrics::Family<metrics::Gauge>& blocked_by_;
  metrics::Family<metrics::Counter>& passive_;
  std::map<std::string, std::string> blocked_;  // component -> the `by` label last set to 1
};

}  // namespace lg::probes
