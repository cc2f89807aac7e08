#pragma once
// Rise/fall as a pure function: consecutive results move a component between states only
// after `rise` successes or `fall` failures, so one lost packet never flaps the gate.
namespace lg::probes {

enum class Status { Unknown, Up, Down, Degraded };
const char* to_string(Status s);

struct Counts {
  int ok = 0;    // consecutive successes
  int fail = 0;  // consecutive failures
};

// Counts after one more result.
Counts count(Counts c, bool ok);

// The damped state after a result. `degraded` marks an up state as degraded at once (it is
// still up); `in_grace` keeps an unknown component unknown instead of down.
Status next_status(Status current, Counts counts, bool degraded, int rise, int fall, bool in_grace);

}  // namespace lg::probes
