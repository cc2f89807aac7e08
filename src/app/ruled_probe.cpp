#include "app/ruled_probe.hpp"

namespace lg::app {
namespace {

class RuledProbe : public probes::Probe {
 public:
  RuledProbe(std::unique_ptr<probes::Probe> probe, const probes::HealthState& health, std::string other, Rule rule)
      : probe_(std::move(probe)), health_(health), other_(std::move(other)), rule_(rule) {}
  void start(Done done) override {
    probe_->start([this, done](probes::Outcome o) { done(rule_(std::move(o), find_other())); });
  }
  void cancel() override { probe_->cancel(); }
  std::string target() const override { return probe_->target(); }

 private:
  const probes::Component* find_other() const {
    for (const auto& c : health_.components())
      if (c->name == other_) return c.get();
    return nullptr;
  }

  std::unique_ptr<probes::Probe> probe_;
  const probes::HealthState& health_;
  const std::string other_;
  const Rule rule_;
};

}  // namespace

std::unique_ptr<probes::Probe> with_rule(std::unique_ptr<probes::Probe> probe, const probes::HealthState& health,
                                         std::string other, Rule rule) {
  return std::make_unique<RuledProbe>(std::move(probe), health, std::move(other), rule);
}

}  // namespace lg::app
