#include "app/letta_database_rule.hpp"

#include <fmt/format.h>

#include <charconv>
#include <optional>

#include "probes/letta_agent_count.hpp"

namespace lg::app {
namespace {

std::optional<long long> count_fact(const std::map<std::string, std::string>& info, const char* key) {
  auto it = info.find(key);
  if (it == info.end()) return std::nullopt;
  long long n = 0;
  const auto& v = it->second;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size()) return std::nullopt;  // "unknown": an old Letta
  return n;
}

class RuledLettaProbe : public probes::Probe {
 public:
  RuledLettaProbe(std::unique_ptr<probes::Probe> letta, const probes::HealthState& health)
      : letta_(std::move(letta)), health_(health) {}
  void start(Done done) override {
    letta_->start([this, done](probes::Outcome o) {
      done(apply_letta_database_rule(std::move(o), find_postgres()));
    });
  }
  void cancel() override { letta_->cancel(); }
  std::string target() const override { return letta_->target(); }

 private:
  const probes::Component* find_postgres() const {
    for (const auto& c : health_.components())
      if (c->name == "postgres") return c.get();
    return nullptr;
  }

  std::unique_ptr<probes::Probe> letta_;
  const probes::HealthState& health_;
};

}  // namespace

probes::Outcome apply_letta_database_rule(probes::Outcome letta, const probes::Component* postgres) {
  // A Letta that answered its count: ok, or below --min-agents. Any other failure says more.
  if (!letta.ok && letta.reason_code != "too_few_agents") return letta;
  if (!postgres || !postgres->last_ok) return letta;  // no current facts of the database
  const auto api = count_fact(letta.info, probes::kApiAgentsFact);
  const auto table = count_fact(postgres->info, "agents");
  if (!api || *api != 0 || !table || *table <= 0) return letta;
  auto at = postgres->info.find("address");
  const std::string address = at == postgres->info.end() ? "the --postgres-dsn host" : at->second;
  probes::Outcome o = probes::Outcome::failure(
      "wrong_database", fmt::format("letta-server is not using the database at {} (it reports 0 agents, that "
                                    "database holds {}): check LETTA_PG_URI",
                                    address, *table));
  o.http_status = letta.http_status;
  o.info = std::move(letta.info);
  return o;
}

std::unique_ptr<probes::Probe> with_letta_database_rule(std::unique_ptr<probes::Probe> letta,
                                                        const probes::HealthState& health) {
  return std::make_unique<RuledLettaProbe>(std::move(letta), health);
}

}  // namespace lg::app
