#pragma once
// The health state: one Component per probed dependency, and the gate that /readyz reports.
// Probe runners write into it; the HTTP server, the forwarder and `wait` read it. The JSON
// documents made of it are rendered in app/health_documents.
#include <array>
#include <bitset>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "probes/outcome.hpp"
#include "probes/thresholds.hpp"

namespace lg::probes {

struct Component {
  std::string name;
  bool required = true;
  std::string target;        // what is checked, redacted
  Status status = Status::Unknown;
  std::string reason = "no probe result yet";
  std::string reason_code = "pending";
  double since = 0;          // wall-clock seconds of the last transition (or start)
  double last_check = 0;     // wall-clock seconds of the last result
  double last_latency_s = 0;
  bool last_ok = false;      // the raw last result, before rise/fall damping
  Counts counts;
  uint64_t transitions = 0;
  // What the probe learnt: a fact is kept after a failed check that did not report it (shown as
  // last seen at fact_seen[i], the wall time it was last reported, for the kFactFields index i)
  // and dropped after a success that no longer reports it (a success states its facts whole).
  Facts facts;
  std::array<double, kFactCount> fact_seen{};
  std::bitset<kFactCount> fact_reported;  // the facts the latest result reported
  // Whether the fact at index i came with the latest result (else it is from an earlier one).
  bool fact_current(size_t i) const { return fact_reported[i]; }
  // Recent results for the status page: (wall time, ok, latency), newest last.
  struct Sample {
    double at;
    bool ok;
    double latency_s;
  };
  std::vector<Sample> history;
  static constexpr size_t kHistory = 60;
  // A passive signal (issue 20): something besides the probe saw this component fail (the
  // forwarder's upstream connect refused, ...). Set by the component's runner, which counts it
  // and probes again at once (probe_runner.hpp); empty while no runner listens.
  std::function<void(const char* source, const char* reason)> on_passive;
};

enum class Gate { Ready, NotReady, Draining };
const char* to_string(Gate g);

class HealthState {
 public:
  using Listener = std::function<void(const Component&, Status previous)>;

  Component& add(const std::string& name, bool required, const std::string& target);
  Component* find(const std::string& name);
  const std::vector<std::unique_ptr<Component>>& components() const { return components_; }

  // Applies one probe result with rise/fall; returns true when the damped status changed.
  bool record(Component& c, const Outcome& o, int rise, int fall, bool in_grace);

  Gate gate() const;
  bool degraded() const;  // ready, but an optional component is down or a component is degraded
  void set_draining() {
    draining_ = true;
    ++generation_;
  }
  bool draining() const { return draining_; }

  // Called after every damped transition (the forwarder's hold mode listens).
  int subscribe(Listener l);
  void unsubscribe(int id);

  // Changes whenever what /readyz says may have changed (add, a status or reason changed by
  // record, set_draining): its cached body (app/health_documents) is rebuilt only then.
  uint64_t generation() const { return generation_; }

 private:
  std::vector<std::unique_ptr<Component>> components_;
  std::map<int, Listener> listeners_;
  int next_listener_ = 1;
  bool draining_ = false;
  uint64_t generation_ = 0;
};

}  // namespace lg::probes
