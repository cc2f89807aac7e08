#pragma once
// The pause before a held client's next upstream connect (issue 20: a restart is invisible to
// the app). Exponential from 25 ms, doubling to at most 500 ms, with jitter so the clients a
// restart caught do not all knock at once ("equal jitter": half fixed, half random). A pure
// function: the caller passes its own random number, so the schedule is tested without a loop.
#include <algorithm>
#include <cstdint>

namespace lg::proxy {

constexpr uint64_t kConnectRetryFirstMs = 25;
constexpr uint64_t kConnectRetryMaxMs = 500;

// `retry`: 0 for the first retry; `unit`: a random number in [0, 1).
inline uint64_t connect_backoff_ms(unsigned retry, double unit) {
  uint64_t d = kConnectRetryFirstMs;
  for (unsigned i = 0; i < retry && d < kConnectRetryMaxMs; ++i) d *= 2;
  d = std::min(d, kConnectRetryMaxMs);
  const double u = std::clamp(unit, 0.0, 1.0);
  return d / 2 + static_cast<uint64_t>(static_cast<double>(d - d / 2) * u);
}

}  // namespace lg::proxy
