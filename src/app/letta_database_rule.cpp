#include "app/letta_database_rule.hpp"

#include <fmt/format.h>

#include "app/ruled_probe.hpp"

namespace lg::app {

probes::Outcome apply_letta_database_rule(probes::Outcome letta, const probes::Component* postgres) {
  // A Letta that answered its count: ok, or below --min-agents. Any other failure says more.
  if (!letta.ok && letta.reason_code != "too_few_agents") return letta;
  if (!postgres || !postgres->last_ok) return letta;  // no current facts of the database
  const auto& api = letta.facts.api_agents;  // kUnknownCount (an old Letta) is not 0
  const auto& table = postgres->facts.agents;
  if (!api || *api != 0 || !table || *table <= 0) return letta;
  const std::string address = postgres->facts.address.value_or("the --postgres-dsn host");
  probes::Outcome o = probes::Outcome::failure(
      "wrong_database", fmt::format("letta-server is not using the database at {} (it reports 0 agents, that "
                                    "database holds {}): check LETTA_PG_URI",
                                    address, *table));
  o.http_status = letta.http_status;
  o.facts = std::move(letta.facts);
  return o;
}

std::unique_ptr<probes::Probe> with_letta_database_rule(std::unique_ptr<probes::Probe> letta,
                                                        const probes::HealthState& health) {
  return with_rule(std::move(letta), health, "postgres", apply_letta_database_rule);
}

}  // namespace lg::app
