#pragma once
// One cause, one alert. nginx proxies to Letta, so while Letta is down nginx answers 502/503/504
// and its own check fails too: one fault, two components down, two alerts. This rule names the
// cause on the nginx component instead: reason "upstream letta is down: <letta's reason>",
// reason_code upstream_down, and Outcome::blocked_by = "letta" (the metric
// lettagate_component_blocked_by{component="nginx",by="letta"}, which the shipped alert rules
// use to leave the nginx alert out: docs/metrics.md).
//
// Only a gateway answer counts (a status nginx gives when its upstream fails or refuses): nginx
// refusing connections, or a wrong route (404), is nginx's own fault even while Letta is down,
// and both alerts are right then. "Letta is down" is its damped status down, or its latest raw
// result failed (the two probes see the same fault at about the same time; neither waits for the
// other's rise/fall).
#include <memory>

#include "probes/health_state.hpp"
#include "probes/probe.hpp"

namespace lg::app {

// The nginx outcome after the rule (pure: tested without sockets). `letta` is the letta
// component, or nullptr when it is not probed.
probes::Outcome apply_upstream_rule(probes::Outcome nginx, const probes::Component* letta);

// The nginx probe with the rule applied to each outcome; `health` must outlive it.
std::unique_ptr<probes::Probe> with_upstream_rule(std::unique_ptr<probes::Probe> nginx,
                                                  const probes::HealthState& health);

}  // namespace lg::app
