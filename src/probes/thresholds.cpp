#include "probes/thresholds.hpp"

namespace lg::probes {

const char* to_string(Status s) {
  switch (s) {
    case Status::Unknown: return "unknown";
    case Status::Up: return "up";
    case Status::Down: return "down";
    case Status::Degraded: return "degraded";
  }
  return "unknown";
}

Counts count(Counts c, bool ok) {
  if (ok) return {c.ok + 1, 0};
  return {0, c.fail + 1};
}

Status next_status(Status current, Counts c, bool degraded, int rise, int fall, bool in_grace) {
  const bool is_up = current == Status::Up || current == Status::Degraded;
  if (c.ok > 0) {
    // As in Envoy, a single success is enough at startup (unknown): nothing was ever wrong.
    if (is_up || current == Status::Unknown || c.ok >= rise) return degraded ? Status::Degraded : Status::Up;
    return current;
  }
  switch (current) {
    case Status::Down: return Status::Down;
    case Status::Unknown: return in_grace ? Status::Unknown : Status::Down;
    default: return c.fail >= fall ? Status::Down : current;
  }
}

}  // namespace lg::probes
