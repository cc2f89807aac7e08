#pragma once
// The probed components a configuration asks for, shared by `serve` (App) and `wait`: one
// Component in the HealthState and one ProbeRunner per enabled probe, so both commands see
// the stack through exactly the same checks.
#include <uv.h>

#include <memory>
#include <optional>
#include <vector>

#include "config/config.hpp"
#include "probes/health_state.hpp"
#include "probes/probe_metrics.hpp"
#include "probes/probe_runner.hpp"

namespace lg::app {

// What only a probe's client library can judge (a libpq connection string), checked before
// `serve` or `wait` starts anything, as parsing the configuration loads nothing: nullopt, or
// the error naming the setting (exit 2).
std::optional<config::ConfigError> check_probe_settings(const config::Config& config);

// Adds each listed component (config/components.hpp) that is enabled, then every --tcp-check,
// to `health`, and a runner for each to `runners`. The runners are not started: the caller
// starts them once the rest of its wiring is in place. `health` and `metrics` must outlive them.
void add_configured_components(uv_loop_t* loop, const config::Config& config, probes::HealthState& health,
                               probes::ProbeMetrics& metrics,
                               std::vector<std::unique_ptr<probes::ProbeRunner>>& runners);

}  // namespace lg::app
