#include "app/fd_budget.hpp"

#include <dirent.h>
#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>

namespace lg::app {

namespace {
// The loop's own descriptors opened after the count (the signal pipe, the wake-up eventfd).
constexpr int kFdsLoop = 4;
}  // namespace

FdBudget plan_fd_budget(const FdBudgetInput& in) {
  FdBudget b;
  b.listeners = 1 + in.routes;
  b.for_probes = in.probes * kFdsPerProbe + kFdsForLookups;
  const int64_t limit = static_cast<int64_t>(std::min<uint64_t>(in.limit, INT32_MAX));
  const int64_t free = limit - in.in_use - kFdsLoop - b.listeners - b.for_probes;
  const int64_t need_health = int64_t{in.health_cap} + kFdsHealthSlack;
  const int64_t need_forward = int64_t{2} * in.forward_cap * in.routes;
  b.health_cap = in.health_cap;
  b.forward_cap = in.forward_cap;
  if (need_health + need_forward <= free) {
    b.for_health = static_cast<int>(need_health);
    b.for_forwarder = static_cast<int>(need_forward);
    return b;
  }
  // The health server gets its cap if that is at most a quarter of what is free (all of it with
  // no forwarder), else that share; the forwarder gets the rest, two descriptors a connection.
  const int64_t share = in.routes > 0 ? free / 4 : free;
  if (need_health > share) {
    b.health_cap = static_cast<int>(std::max<int64_t>(kMinHealthCap, share - kFdsHealthSlack));
    b.health_lowered = b.health_cap < in.health_cap;
    b.health_cap = std::min(b.health_cap, in.health_cap);
  }
  b.for_health = b.health_cap + kFdsHealthSlack;
  if (in.routes > 0) {
    const int64_t rest = free - b.for_health;
    const int64_t per_route = rest / (int64_t{2} * in.routes);
    b.too_small = per_route < 1;
    b.forward_cap = static_cast<int>(std::clamp<int64_t>(per_route, 1, in.forward_cap));
    b.forward_lowered = b.forward_cap < in.forward_cap;
  } else {
    b.too_small = free < b.for_health;
  }
  b.for_forwarder = 2 * b.forward_cap * in.routes;
  return b;
}

std::string describe(const FdBudget& b, const FdBudgetInput& in, uint64_t soft_before, uint64_t hard) {
  std::string limit = fmt::format("limit {}", in.limit);
  if (soft_before != 0 && soft_before < in.limit) {
    limit += fmt::format(" (soft limit raised from {} to the hard limit)", soft_before);
  } else if (hard != 0 && hard == in.limit) {
    limit += " (the hard limit)";
  } else if (hard != 0) {
    limit += fmt::format(" (hard limit {}: could not raise to it)", hard);
  }
  std::string health = fmt::format("{} for the health server (cap {}", b.for_health, b.health_cap);
  health += b.health_lowered ? fmt::format(": --max-connections {} does not fit)", in.health_cap) : ")";
  std::string forward;
  if (in.routes > 0) {
    forward = fmt::format(", {} for the forwarder (cap {} per route, {} route(s), 2 each", b.for_forwarder,
                          b.forward_cap, in.routes);
    forward += b.forward_lowered ? fmt::format(": --forward-max-connections {} does not fit)", in.forward_cap) : ")";
  }
  return fmt::format("file descriptors: {}; {} open at start, {} for listeners, {} for {} probe(s) and name lookups, "
                     "{}{}{}",
                     limit, in.in_use, b.listeners, b.for_probes, in.probes, health, forward,
                     b.too_small ? "; the limit is too low for these minimums: raise it (ulimit -n)" : "");
}

uint64_t raise_nofile_limit(uint64_t* before, uint64_t* hard) {
  *before = 0;
  *hard = 0;
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  *before = rl.rlim_cur;
  *hard = rl.rlim_max;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) return raised.rlim_cur;
  }
  return rl.rlim_cur;
}

int count_open_fds() {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return -1;
  int n = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n - 1;  // the directory's own descriptor
}

}  // namespace lg::app
