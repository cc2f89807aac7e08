#pragma once
// The contract every protocol probe (HTTP, Postgres, Redis, SSE, TCP) implements.
//
// A Probe is long-lived and owned by its ProbeRunner. Each attempt:
//   start(done)  begins one check on the loop; `done` is called exactly once, later (never from
//                inside start()), with the Outcome.
//   cancel()     abandons the attempt in flight (its timeout fired, or shutdown): the probe
//                closes its handles and must not call `done` afterwards. Safe when idle.
// The runner never starts an attempt while one is in flight. Handles an attempt opens belong
// to a per-attempt object that frees itself in its last uv_close callback, so cancel() may
// return before they are closed, and the Probe may be destroyed right after cancel().
// Protocol code knows nothing of rise/fall or scheduling.
#include <functional>
#include <string>

#include "probes/outcome.hpp"

namespace lg::probes {

class Probe {
 public:
  using Done = std::function<void(Outcome)>;
  virtual ~Probe() = default;
  virtual void start(Done done) = 0;
  virtual void cancel() = 0;
  // What it checks, for /status, secrets redacted: "GET http://letta-server:8283/v1/health/".
  virtual std::string target() const = 0;
};

}  // namespace lg::probes
