#pragma once
// A probe whose every outcome is judged again against another component's latest state: the
// wrapper both rules of app/ share (letta_database_rule: Letta against postgres; upstream_rule:
// nginx against letta).
#include <memory>
#include <string>

#include "probes/health_state.hpp"
#include "probes/probe.hpp"

namespace lg::app {

// `rule` gets the outcome and the component named `other` (nullptr when it is not probed);
// `health` must outlive the probe.
using Rule = probes::Outcome (*)(probes::Outcome, const probes::Component* other);

std::unique_ptr<probes::Probe> with_rule(std::unique_ptr<probes::Probe> probe, const probes::HealthState& health,
                                         std::string other, Rule rule);

}  // namespace lg::app
