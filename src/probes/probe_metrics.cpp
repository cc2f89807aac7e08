#include "probes/probe_metrics.hpp"

namespace lg::probes {

using metrics::Registry;

ProbeMetrics::ProbeMetrics(Registry& r, HealthState& health)
    : success_(r.gauge("probe_success", "Whether the last probe of the component succeeded (raw, undamped).",
                       {"component"})),
      duration_(r.gauge("probe_duration_seconds", "How long the last probe took, in seconds.", {"component"})),
      http_status_(r.gauge("probe_http_status_code", "HTTP status code of the last probe (0: no response).",
                           {"component"})),
      attempts_(r.counter("lettagate_probe_attempts_total", "Probe attempts completed (each is a success or a failure; one cut at its timeout fails).", {"component"})),
      successes_(r.counter("lettagate_probe_successes_total", "Probe attempts that succeeded.", {"component"})),
      failures_(r.counter("lettagate_probe_failures_total", "Probe attempts that failed, by reason.",
                          {"component", "reason"})),
      latency_(r.histogram("lettagate_probe_latency_seconds", "Probe latency distribution.", {"component"},
                           Registry::latency_buckets())),
      up_(r.gauge("lettagate_component_up",
                  "Damped (rise/fall) state: 1 when the component is up or degraded, else 0.", {"component"})),
      status_(r.gauge("lettagate_component_status", "Damped state, one series per state set to 1 for the current one.",
                      {"component", "status"})),
      transitions_(r.counter("lettagate_component_transitions_total", "Damped state changes, by new state.",
                             {"component", "to"})),
      letta_info_(r.gauge("letta_server_info", "Letta server version reported by /v1/health/ (always 1).",
                          {"version"})),
      letta_agents_(r.gauge("letta_agents", "Live agents in Letta's database (agents not deleted).")),
      pgvector_info_(r.gauge("letta_pgvector_info", "Installed pgvector extension version (always 1).", {"version"})),
      redis_info_(r.gauge("letta_redis_info", "Redis role reported by INFO (always 1).", {"role"})),
      blocked_by_(r.gauge("lettagate_component_blocked_by",
                          "1 while the component's latest failure is down to another component (`by`): nginx's "
                          "gateway errors while Letta is down. Alerts leave such a component out: one cause, one alert.",
                          {"component", "by"})),
      passive_(r.counter("lettagate_passive_failures_total",
                         "Failures of a component seen besides its probe (source forwarder: an upstream connect "
                         "that failed, or a reset before any reply; source held: the idle connection or "
                         "PostgreSQL session held between probes ended), by reason; each asks for a re-probe at once.",
                         {"component", "source", "reason"})) {
  auto& ready = r.gauge("lettagate_ready", "1 when /readyz answers 200.");
  auto& degraded = r.gauge("lettagate_degraded", "1 when ready but an optional component is down or one is degraded.");
  auto& draining = r.gauge("lettagate_draining", "1 while shutting down (readiness answers 503).");
  r.add_collector([&ready, &degraded, &draining, &health] {
    ready.with().set(health.gate() == Gate::Ready ? 1 : 0);
    degraded.with().set(health.degraded() ? 1 : 0);
    draining.with().set(health.draining() ? 1 : 0);
  });
}

void ProbeMetrics::passive(const Component& c, const char* source, const char* reason) {
  passive_.with({c.name, source, reason}).inc();
}

void ProbeMetrics::observe(const Component& c, const Outcome& o, const config::Reports& reports) {
  success_.with({c.name}).set(o.ok ? 1 : 0);
  duration_.with({c.name}).set(o.latency_s);
  if (reports.http_status) http_status_.with({c.name}).set(o.http_status);
  attempts_.with({c.name}).inc();
  if (o.ok) successes_.with({c.name}).inc();
  else failures_.with({c.name, o.reason_code}).inc();
  latency_.with({c.name}).observe(o.latency_s);

  blocked(c.name, o.blocked_by);
  const Facts& f = o.facts;
  if (reports.letta_version && f.version) {
    letta_info_.clear();
    letta_info_.with({*f.version}).set(1);
  }
  // The count of this attempt only: an attempt that could not count (Postgres down) drops the
  // sample rather than repeating the last count, so `letta_agents < N` cannot hold on a stale
  // number and absent(letta_agents) says the count is unknown (Prometheus marks it stale).
  if (reports.agents) {
    if (f.agents) letta_agents_.with().set(static_cast<double>(*f.agents));
    else letta_agents_.clear();
  }
  if (f.pgvector) {
    pgvector_info_.clear();
    pgvector_info_.with({*f.pgvector}).set(1);
  }
  if (f.role) {
    redis_info_.clear();
    redis_info_.with({*f.role}).set(1);
  }
}

void ProbeMetrics::blocked(const std::string& component, const std::string& by) {
  auto it = blocked_.find(component);
  if (it != blocked_.end() && it->second != by) blocked_by_.with({component, it->second}).set(0);
  if (by.empty()) {
    if (it != blocked_.end()) blocked_.erase(it);
    return;
  }
  blocked_by_.with({component, by}).set(1);
  blocked_[component] = by;
}

void ProbeMetrics::state(const Component& c, bool changed) {
  const bool up = c.status == Status::Up || c.status == Status::Degraded;
  up_.with({c.name}).set(up ? 1 : 0);
  for (Status s : {Status::Unknown, Status::Up, Status::Down, Status::Degraded})
    status_.with({c.name, to_string(s)}).set(c.status == s ? 1 : 0);
  if (changed) transitions_.with({c.name, to_string(c.status)}).inc();
}

}  // namespace lg::probes
