// The ProbeRunner's schedule on a real loop with a probe that answers at once: jitter spreads
// the attempts over [interval x (1 - jitter), interval] and never delays one past the interval
// (so detection stays within interval x fall + timeout), no jitter keeps them an interval apart,
// and the first attempt comes right away.
#include <algorithm>
#include <catch2/catch.hpp>
#include <numeric>
#include <vector>

#include "core/clock.hpp"
#include "core/timer.hpp"
#include "integration/probe_harness.hpp"

namespace {

using namespace std::chrono_literals;

// Succeeds on the next turn of the loop (never inside start(), as the contract says) and
// records when each attempt started.
class InstantProbe : public lg::probes::Probe {
 public:
  InstantProbe(uv_loop_t* loop, std::vector<double>& starts) : starts_(starts) {
    timer_ = lg::Timer::create(loop, [this] {
      auto done = std::move(done_);
      if (done) done(lg::probes::Outcome::success("answered"));
    });
  }
  ~InstantProbe() override { timer_->close(); }
  void start(Done done) override {
    starts_.push_back(lg::mono_seconds());
    done_ = std::move(done);
    timer_->start(0ms);
  }
  void cancel() override {
    done_ = nullptr;
    timer_->stop();
  }
  std::string target() const override { return "instant"; }

 private:
  std::vector<double>& starts_;
  lg::Timer* timer_ = nullptr;
  Done done_;
};

// min and max are what the loop saw; p10 and p90 leave out the few gaps a busy machine bends by
// waking the process late (a late start stretches its gap and shortens the next one): the
// clock is real, the schedule is exact, the wake-up is the kernel's.
struct Gaps {
  double min_ms, max_ms, p10_ms, p90_ms, mean_ms;
};

// Runs `attempts` attempts and returns the gaps between their starts, plus the first start's
// delay after the runner started.
Gaps run_schedule(const lg::ProbeSchedule& s, size_t attempts, double* first_delay_ms) {
  std::vector<double> starts;
  const double t0 = lg::mono_seconds();
  {
    lgtest::ProbeHarness h("instant", s, [&](uv_loop_t* loop) { return std::make_unique<InstantProbe>(loop, starts); });
    h.run_results(attempts, 20s);
  }
  REQUIRE(starts.size() >= attempts);
  *first_delay_ms = (starts.front() - t0) * 1000.0;
  std::vector<double> gaps;
  for (size_t i = 1; i < attempts; ++i) gaps.push_back((starts[i] - starts[i - 1]) * 1000.0);
  std::sort(gaps.begin(), gaps.end());
  return {gaps.front(), gaps.back(), gaps[gaps.size() / 10], gaps[gaps.size() * 9 / 10],
          std::accumulate(gaps.begin(), gaps.end(), 0.0) / static_cast<double>(gaps.size())};
}

}  // namespace

TEST_CASE("probe runner: jitter spreads attempts over [interval x (1 - jitter), interval], never later",
          "[unit][probes][schedule]") {
  lg::ProbeSchedule s;
  s.interval = 50ms;
  s.timeout = 40ms;
  s.jitter = 0.4;  // each gap is 50 ms minus a uniform 0 to 20 ms
  double first = 0;
  const Gaps g = run_schedule(s, 41, &first);
  INFO("gaps: min " << g.min_ms << " ms, p10 " << g.p10_ms << " ms, p90 " << g.p90_ms << " ms, max " << g.max_ms
                    << " ms, mean " << g.mean_ms << " ms; first after " << first << " ms");
  CHECK(g.p10_ms >= 30.0 - 2.0);   // not shorter than interval x (1 - jitter) (timers are whole ms)
  CHECK(g.p90_ms <= 50.0 + 10.0);  // not held past the interval (slack: a loaded machine's wake-up)
  CHECK(g.mean_ms >= 33.0);        // uniform 0-20 ms off 50: the mean is 40 ms
  CHECK(g.mean_ms <= 47.0);
  CHECK(g.max_ms - g.min_ms >= 8.0);  // spread, not lockstep: 40 draws of 0-20 ms all within 8 ms is ~0
  CHECK(first <= 50.0 + 100.0);       // right away (0-50 ms), plus the harness start on a busy machine
}

TEST_CASE("probe runner: without jitter attempts start an interval apart", "[unit][probes][schedule]") {
  lg::ProbeSchedule s;
  s.interval = 40ms;
  s.timeout = 30ms;
  s.jitter = 0;
  double first = 0;
  const Gaps g = run_schedule(s, 21, &first);
  INFO("gaps: min " << g.min_ms << " ms, p10 " << g.p10_ms << " ms, p90 " << g.p90_ms << " ms, max " << g.max_ms
                    << " ms, mean " << g.mean_ms << " ms");
  CHECK(g.p10_ms >= 40.0 - 2.0);
  CHECK(g.p90_ms <= 40.0 + 10.0);
  CHECK(g.mean_ms <= 40.0 + 5.0);  // measured start to start: the probe's own time does not add up
}
