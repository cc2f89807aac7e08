#include "probes/health_state.hpp"

#include <nlohmann/json.hpp>

#include "build_info.hpp"
#include "core/clock.hpp"

namespace lg::probes {

const char* to_string(Gate g) {
  switch (g) {
    case Gate::Ready: return "ready";
    case Gate::NotReady: return "not_ready";
    case Gate::Draining: return "draining";
  }
  return "not_ready";
}

HealthState::HealthState() : started_(wall_seconds()) {}

Component& HealthState::add(const std::string& name, bool required, const std::string& target) {
  auto c = std::make_unique<Component>();
  c->name = name;
  c->required = required;
  c->target = target;
  c->since = wall_seconds();
  components_.push_back(std::move(c));
  readyz_stale_ = true;
  return *components_.back();
}

Component* HealthState::find(const std::string& name) {
  for (auto& c : components_)
    if (c->name == name) return c.get();
  return nullptr;
}

bool HealthState::record(Component& c, const Outcome& o, int rise, int fall, bool in_grace) {
  const double now = wall_seconds();
  c.counts = count(c.counts, o.ok);
  c.last_ok = o.ok;
  c.last_check = now;
  c.last_latency_s = o.latency_s;
  std::string reason = in_grace && !o.ok && c.status == Status::Unknown ? "starting (grace period): " + o.reason : o.reason;
  if (reason != c.reason) {
    c.reason = std::move(reason);
    readyz_stale_ = true;
  }
  c.reason_code = o.reason_code;
  for (const auto& [k, v] : o.info) c.info[k] = v;
  c.history.push_back({now, o.ok, o.latency_s});
  if (c.history.size() > Component::kHistory) c.history.erase(c.history.begin());

  const Status previous = c.status;
  c.status = next_status(previous, c.counts, o.degraded, rise, fall, in_grace);
  if (c.status == previous) return false;
  readyz_stale_ = true;
  c.since = now;
  ++c.transitions;
  for (auto& [id, l] : listeners_) l(c, previous);
  return true;
}

Gate HealthState::gate() const {
  if (draining_) return Gate::Draining;
  for (const auto& c : components_) {
    if (!c->required) continue;
    if (c->status != Status::Up && c->status != Status::Degraded) return Gate::NotReady;
  }
  return Gate::Ready;
}

bool HealthState::degraded() const {
  for (const auto& c : components_) {
    if (c->status == Status::Degraded) return true;
    if (!c->required && c->status != Status::Up) return true;
  }
  return false;
}

int HealthState::subscribe(Listener l) {
  int id = next_listener_++;
  listeners_[id] = std::move(l);
  return id;
}

void HealthState::unsubscribe(int id) { listeners_.erase(id); }

const std::string& HealthState::readyz_json() const {
  if (!readyz_stale_) return readyz_;
  nlohmann::json j;
  j["status"] = to_string(gate());
  j["degraded"] = degraded();
  j["components"] = nlohmann::json::object();
  for (const auto& c : components_) {
    nlohmann::json cj{{"status", to_string(c->status)}, {"reason", draining_ ? "draining" : c->reason}};
    if (!c->required) cj["required"] = false;
    j["components"][c->name] = std::move(cj);
  }
  readyz_ = j.dump();
  readyz_stale_ = false;
  return readyz_;
}

std::string HealthState::status_json() const {
  const double now = wall_seconds();
  nlohmann::json j;
  j["status"] = to_string(gate());
  j["degraded"] = degraded();
  j["version"] = build::kVersion;
  j["revision"] = build::kRevision;
  j["uptime_seconds"] = now - started_;
  j["components"] = nlohmann::json::object();
  for (const auto& c : components_) {
    nlohmann::json hist = nlohmann::json::array();
    for (const auto& s : c->history) hist.push_back({{"at", s.at}, {"ok", s.ok}, {"latency_ms", s.latency_s * 1000}});
    j["components"][c->name] = {
        {"status", to_string(c->status)},
        {"reason", c->reason},
        {"reason_code", c->reason_code},
        {"required", c->required},
        {"target", c->target},
        {"since", c->since},
        {"for_seconds", now - c->since},
        {"last_check", c->last_check},
        {"last_ok", c->last_ok},
        {"last_latency_ms", c->last_latency_s * 1000},
        {"consecutive_successes", c->counts.ok},
        {"consecutive_failures", c->counts.fail},
        {"transitions", c->transitions},
        {"info", c->info},
        {"history", std::move(hist)},
    };
  }
  for (const auto& s : sections_) s(j);
  return j.dump();
}

}  // namespace lg::probes
