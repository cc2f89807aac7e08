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
#include <memory>
#include <string>

#include "probes/outcome.hpp"

namespace lg::probes {

class Watch;  // held_connection.hpp

class Probe {
 public:
  using Done = std::function<void(Outcome)>;
  virtual ~Probe() = default;
  virtual void start(Done done) = 0;
  virtual void cancel() = 0;
  // What it checks, for /status, secrets redacted: "GET http://letta-server:8283/v1/health/".
  virtual std::string target() const = 0;
  // A probe that keeps its connection open between attempts (PostgreSQL's session) hands its
  // runner a Watch over it, taken once at the runner's construction: the kept connection's end
  // is a passive signal like a held connection's. Others: none (defined in held_connection.cpp,
  // where Watch is complete).
  virtual std::unique_ptr<Watch> watch();
};

}  // namespace lg::probes
