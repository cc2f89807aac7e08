#pragma once
// The health server's JSON documents, rendered from the HealthState model: the /readyz body
// (cached) and the /status body (the model, build info and sections the app and the forwarder
// plug in).
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "probes/health_state.hpp"

namespace lg::app {

// /readyz body: {"status":..., "degraded":bool, "components":{name:{"status","reason"}}}.
// Built when what it says changed (HealthState::generation), not per request: a poller hitting
// /readyz gets the cached text. The reference is valid until the next change.
class ReadyzDocument {
 public:
  explicit ReadyzDocument(const probes::HealthState& health) : health_(health) {}
  const std::string& json() const;

 private:
  const probes::HealthState& health_;
  mutable std::string text_;
  mutable uint64_t built_for_ = 0;
  mutable bool built_ = false;
};

// A component's facts as /status and `wait --json` show them: "info" {name: text} (every fact
// kept), and "info_last_seen" {name: wall seconds} for those the latest result did not report
// (kept from an earlier check, e.g. the agent count while Postgres is down): not current.
void add_facts_json(nlohmann::json& component, const probes::Component& c);

// /status body: everything about every component, plus sections from providers.
class StatusDocument {
 public:
  explicit StatusDocument(const probes::HealthState& health);
  using Section = std::function<void(nlohmann::json&)>;
  void add_section(Section s) { sections_.push_back(std::move(s)); }
  std::string json() const;

 private:
  const probes::HealthState& health_;
  std::vector<Section> sections_;
  double started_;  // wall-clock seconds, for uptime_seconds
};

}  // namespace lg::app
