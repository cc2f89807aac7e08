#pragma once
// A rule across two components: Letta's own agent count (the letta component's api_agents fact,
// GET /v1/agents/count) against the table's (the postgres component's agents fact). Letta
// reporting 0 while the database lettagate checks holds N > 0 means letta-server is not using
// that database (started without LETTA_PG_URI, on a fresh one of its own): a named reason on the
// letta component, `wrong_database`.
//
// Only "0 against some" is compared, never equality: the API counts one actor's agents (the
// default user's organisation), the table every organisation's, so a stack with several
// organisations legitimately reports fewer through the API (docs/probes.md).
//
// Wired where the components are (app/components.cpp): the letta probe is wrapped, so the rule
// sees each Letta outcome before rise/fall and reads the postgres component's latest facts from
// the HealthState; neither probe knows of the other.
#include <memory>

#include "probes/health_state.hpp"
#include "probes/probe.hpp"

namespace lg::app {

// The letta outcome after the rule (pure: tested without sockets). `postgres` is the postgres
// component, or nullptr when it is not probed; its facts count only while its last result was ok.
probes::Outcome apply_letta_database_rule(probes::Outcome letta, const probes::Component* postgres);

// The letta probe with the rule applied to each outcome; `health` must outlive it.
std::unique_ptr<probes::Probe> with_letta_database_rule(std::unique_ptr<probes::Probe> letta,
                                                        const probes::HealthState& health);

}  // namespace lg::app
