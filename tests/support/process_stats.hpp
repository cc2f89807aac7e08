#pragma once
// What /proc says about a process the tests started: resident memory and CPU time.
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace lgtest {

// Resident set size in KiB (/proc/PID/status VmRSS); -1 when unknown.
inline long rss_kib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// CPU seconds (user + system) a process has used (/proc/PID/stat); -1 when unknown.
inline double cpu_seconds(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream rest(line.substr(paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Waits (at most 10 s) until a process has used no CPU for 300 ms: a server that stopped
// answering a client that does not read. CPU time has no event to wait on: it is polled.
inline void wait_quiet(int pid) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  double used = cpu_seconds(pid);
  auto still_since = Clock::now();
  while (Clock::now() < deadline && Clock::now() - still_since < std::chrono::milliseconds(300)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const double now = cpu_seconds(pid);
    if (now != used) {
      used = now;
      still_since = Clock::now();
    }
  }
}

}  // namespace lgtest
