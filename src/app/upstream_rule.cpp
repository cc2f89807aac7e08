#include "app/upstream_rule.hpp"

#include <fmt/format.h>

namespace lg::app {
namespace {

bool gateway_status(int status) { return status == 502 || status == 503 || status == 504; }

bool is_down(const probes::Component& c) {
  return c.status == probes::Status::Down || (c.last_check > 0 && !c.last_ok);
}

class UpstreamRuledProbe : public probes::Probe {
 public:
  UpstreamRuledProbe(std::unique_ptr<probes::Probe> nginx, const probes::HealthState& health)
      : nginx_(std::move(nginx)), health_(health) {}
  void start(Done done) override {
    nginx_->start([this, done](probes::Outcome o) { done(apply_upstream_rule(std::move(o), find_letta())); });
  }
  void cancel() override { nginx_->cancel(); }
  std::string target() const override { return nginx_->target(); }

 private:
  const probes::Component* find_letta() const {
    for (const auto& c : health_.components())
      if (c->name == "letta") return c.get();
    return nullptr;
  }

  std::unique_ptr<probes::Probe> nginx_;
  const probes::HealthState& health_;
};

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
  return std::make_unique<UpstreamRuledProbe>(std::move(nginx), health);
}

}  // namespace lg::app
