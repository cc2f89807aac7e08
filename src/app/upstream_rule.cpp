#include "app/upstream_rule.hpp"

#include <fmt/format.h>

#include "app/ruled_probe.hpp"

namespace lg::app {
namespace {

bool gateway_status(int status) { return status == 502 || status == 503 || status == 504; }

bool is_down(const probes::Component& c) {
  return c.status == probes::Status::Down || (c.last_check > 0 && !c.last_ok);
}

}  // namespace

probes::Outcome apply_upstream_rule(probes::Outcome nginx, const probes::Component* letta) {
  if (nginx.ok || !letta || !gateway_status(nginx.http_status) || !is_down(*letta)) return nginx;
  probes::Outcome o = probes::Outcome::failure(
      "upstream_down", fmt::format("upstream letta is down: {} (nginx: {})", letta->reason, nginx.reason));
  o.http_status = nginx.http_status;
  o.facts = std::move(nginx.facts);
  o.blocked_by = "letta";
  return o;
}

std::unique_ptr<probes::Probe> with_upstream_rule(std::unique_ptr<probes::Probe> nginx,
                                                  const probes::HealthState& health) {
  return with_rule(std::move(nginx), health, "letta", apply_upstream_rule);
}

}  // namespace lg::app
