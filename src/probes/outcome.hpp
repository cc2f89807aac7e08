#pragma once
// What one probe attempt found: success or a precise reason, with what it learnt on the way.
#include <string>

#include "probes/facts.hpp"

namespace lg::probes {

struct Outcome {
  bool ok = false;
  bool degraded = false;    // answered, but slower than allowed or missing an optional part
  std::string reason;       // for people: "letta database has 0 agents, expected at least 3: ..."
  std::string reason_code;  // for metric labels, a short fixed word: refused, timeout, auth_failed, ...
  double latency_s = 0;     // start to completion (set by the runner)
  int http_status = 0;      // HTTP probes: the status code seen (0: none)
  std::string blocked_by;   // the component this failure is down to: "letta" for nginx's 502 (app/upstream_rule)
  Facts facts;              // learnt on the way: version, agents, pgvector, role, ...

  static Outcome success(std::string detail = "ok") {
    Outcome o;
    o.ok = true;
    o.reason = std::move(detail);
    o.reason_code = "ok";
    return o;
  }
  static Outcome failure(std::string code, std::string why) {
    Outcome o;
    o.reason_code = std::move(code);
    o.reason = std::move(why);
    return o;
  }
};

}  // namespace lg::probes
