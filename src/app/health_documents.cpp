#include "app/health_documents.hpp"

#include <nlohmann/json.hpp>

#include "build_info.hpp"
#include "core/clock.hpp"

namespace lg::app {

using probes::Component;

const std::string& ReadyzDocument::json() const {
  if (built_ && built_for_ == health_.generation()) return text_;
  nlohmann::json j;
  j["status"] = to_string(health_.gate());
  j["degraded"] = health_.degraded();
  j["components"] = nlohmann::json::object();
  for (const auto& c : health_.components()) {
    nlohmann::json cj{{"status", to_string(c->status)}, {"reason", health_.draining() ? "draining" : c->reason}};
    if (!c->required) cj["required"] = false;
    j["components"][c->name] = std::move(cj);
  }
  text_ = j.dump();
  built_for_ = health_.generation();
  built_ = true;
  return text_;
}

namespace {

nlohmann::json component_json(const Component& c, double now) {
  nlohmann::json hist = nlohmann::json::array();
  for (const auto& s : c.history) hist.push_back({{"at", s.at}, {"ok", s.ok}, {"latency_ms", s.latency_s * 1000}});
  nlohmann::json j{
      {"status", to_string(c.status)},
      {"reason", c.reason},
      {"reason_code", c.reason_code},
      {"required", c.required},
      {"target", c.target},
      {"since", c.since},
      {"for_seconds", now - c.since},
      {"last_check", c.last_check},
      {"last_ok", c.last_ok},
      {"last_latency_ms", c.last_latency_s * 1000},
      {"consecutive_successes", c.counts.ok},
      {"consecutive_failures", c.counts.fail},
      {"transitions", c.transitions},
      {"history", std::move(hist)},
  };
  add_facts_json(j, c);
  return j;
}

}  // namespace

void add_facts_json(nlohmann::json& component, const Component& c) {
  component["info"] = probes::facts_json(c.facts);
  nlohmann::json last_seen = nlohmann::json::object();
  probes::for_each_fact_field([&](const auto& field, size_t i) {
    if ((c.facts.*field.member) && !c.fact_current(i)) last_seen[field.name] = c.fact_seen[i];
  });
  component["info_last_seen"] = std::move(last_seen);
}

StatusDocument::StatusDocument(const probes::HealthState& health) : health_(health), started_(core::wall_seconds()) {}

std::string StatusDocument::json() const {
  const double now = core::wall_seconds();
  nlohmann::json j;
  j["status"] = to_string(health_.gate());
  j["degraded"] = health_.degraded();
  j["version"] = core::build::kVersion;
  j["revision"] = core::build::kRevision;
  j["uptime_seconds"] = now - started_;
  j["components"] = nlohmann::json::object();
  for (const auto& c : health_.components()) j["components"][c->name] = component_json(*c, now);
  for (const auto& s : sections_) s(j);
  return j.dump();
}

}  // namespace lg::app
