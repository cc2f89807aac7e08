#include "probes/health_state.hpp"

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

namespace {

void keep_facts(Component& c, const Facts& latest, bool ok, double now) {
  for_each_fact_field([&](const auto& field, size_t i) {
    auto& mine = c.facts.*field.member;
    const auto& seen = latest.*field.member;
    c.fact_reported[i] = seen.has_value();
    if (seen) {
      mine = seen;
      c.fact_seen[i] = now;
    } else if (ok) {
      mine.reset();
    }
  });
}

}  // namespace

Component& HealthState::add(const std::string& name, bool required, const std::string& target) {
  auto c = std::make_unique<Component>();
  c->name = name;
  c->required = required;
  c->target = target;
  c->since = core::wall_seconds();
  components_.push_back(std::move(c));
  ++generation_;
  return *components_.back();
}

Component* HealthState::find(const std::string& name) {
  for (auto& c : components_)
    if (c->name == name) return c.get();
  return nullptr;
}

bool HealthState::record(Component& c, const Outcome& o, int rise, int fall, bool in_grace) {
  const double now = core::wall_seconds();
  c.counts = count(c.counts, o.ok);
  c.last_ok = o.ok;
  c.last_check = now;
  c.last_latency_s = o.latency_s;
  std::string reason = in_grace && !o.ok && c.status == Status::Unknown ? "starting (grace period): " + o.reason : o.reason;
  if (reason != c.reason) {
    c.reason = std::move(reason);
    ++generation_;
  }
  c.reason_code = o.reason_code;
  keep_facts(c, o.facts, o.ok, now);
  c.history.push_back({now, o.ok, o.latency_s});
  if (c.history.size() > Component::kHistory) c.history.erase(c.history.begin());

  const Status previous = c.status;
  c.status = next_status(previous, c.counts, o.degraded, rise, fall, in_grace);
  if (c.status == previous) return false;
  ++generation_;
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

}  // namespace lg::probes
