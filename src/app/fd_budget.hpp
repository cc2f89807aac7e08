#pragma once
// The file-descriptor budget of `lettagate serve`: descriptors are set aside for the probes and
// the health server first, and the forwarder's connection cap is what is left (two descriptors
// per proxied connection), so that clients of the forwarder can never take the descriptors
// /livez, /readyz and the probes need (which then fail with "too many open files").
//
// At start the soft RLIMIT_NOFILE is raised to the hard limit (as Go's runtime and many servers
// do: the soft limit's 1024 default is a relic of select()); then the budget is planned from that
// limit and the descriptors already open. Where a configured cap fits it is kept; where it does
// not, it is lowered (the health server to at most a quarter of what is left, the forwarder to
// the rest), and the log says so.
#include <cstdint>
#include <string>

namespace lg::app {

struct FdBudgetInput {
  uint64_t limit = 0;       // RLIMIT_NOFILE soft limit in force
  int in_use = 0;           // descriptors open now (before the listeners)
  int routes = 0;           // forwarder routes (one listener each)
  int probes = 0;           // probe runners
  int health_cap = 512;     // --max-connections
  int forward_cap = 4096;   // --forward-max-connections, per route
};

struct FdBudget {
  int listeners = 0;        // the health server's and one per route
  int for_probes = 0;       // the probes' sockets and name lookups
  int for_health = 0;       // the health server: its cap and connections being refused at it
  int for_forwarder = 0;    // two per proxied connection, all routes
  int health_cap = 0;       // the caps to use
  int forward_cap = 0;      // per route
  bool health_lowered = false;
  bool forward_lowered = false;
  bool too_small = false;   // not even the minimums fit: the caps are at their floor
};

// Descriptors one probe may hold at once: its connection (libpq may open a second while it
// tries the next address; nginx's probe adds the SSE check's) and a file or two while it runs.
constexpr int kFdsPerProbe = 4;
// Name lookups run on libuv's 4 threads, each with a DNS socket and a file (/etc/hosts) open.
constexpr int kFdsForLookups = 8;
// Connections the health server accepted beyond its cap and is refusing still hold one each.
constexpr int kFdsHealthSlack = 8;
constexpr int kMinHealthCap = 8;

FdBudget plan_fd_budget(const FdBudgetInput& in);

// One line for the log at start: the limit, what was set aside for what, the caps used.
std::string describe(const FdBudget& b, const FdBudgetInput& in, uint64_t soft_before, uint64_t hard);

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the limit in force and sets *before
// and *hard (0 when getrlimit fails).
uint64_t raise_nofile_limit(uint64_t* before, uint64_t* hard);
// Descriptors open in this process now (/proc/self/fd); -1 when that cannot be read.
int count_open_fds();

}  // namespace lg::app
