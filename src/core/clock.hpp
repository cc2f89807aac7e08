#pragma once
#include <chrono>

namespace lg::core {

// Monotonic seconds for latencies; wall-clock seconds for "since" timestamps users read.
inline double mono_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}
inline double wall_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

}  // namespace lg::core
