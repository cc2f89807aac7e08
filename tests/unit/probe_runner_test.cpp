// The ProbeRunner's schedule, on a clock the test moves by hand (ManualClock): jitter spreads the
// attempts over [interval x (1 - jitter), interval] and never delays one past the interval (so
// detection stays within interval x fall + timeout), no jitter keeps them an interval apart, the
// first attempt comes right away, a slow attempt is cut at its timeout exactly, and a late answer
// is dropped. No loop, no sleep: the timers fire when the test advances time.
#include <algorithm>
#include <catch2/catch.hpp>
#include <numeric>
#include <vector>

#include "core/manual_clock.hpp"
#include "metrics/registry.hpp"
#include "probes/health_state.hpp"
#include "probes/probe_metrics.hpp"
#include "probes/probe_runner.hpp"

namespace {

using namespace std::chrono_literals;
using lg::probes::Outcome;

// Records when each attempt started and answers only when the test says so.
class HeldProbe : public lg::probes::Probe {
 public:
  HeldProbe(lg::core::ManualTime& time, std::vector<uint64_t>& starts, int& cancels)
      : time_(time), starts_(starts), cancels_(cancels) {}
  void start(Done done) override {
    starts_.push_back(time_.now_ms());
    done_ = std::move(done);
  }
  void cancel() override {
    if (done_) ++cancels_;
    done_ = nullptr;
  }
  std::string target() const override { return "held"; }

  bool pending() const { return static_cast<bool>(done_); }
  // Answers the attempt in flight, as the loop would, later than start().
  void answer(Outcome o) {
    auto done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(o));
  }
  // What an attempt cancelled at its timeout would have said had it not been cancelled.
  Done stolen() { return std::move(done_); }

 private:
  lg::core::ManualTime& time_;
  std::vector<uint64_t>& starts_;
  int& cancels_;
  Done done_;
};

// One component on a BasicProbeRunner<ManualClock>, as app/components.cpp wires it.
struct Schedule {
  explicit Schedule(const lg::config::ProbeSchedule& s) {
    auto p = std::make_unique<HeldProbe>(time, starts, cancels);
    probe = p.get();
    metrics = std::make_unique<lg::probes::ProbeMetrics>(registry, health);
    component = &health.add("held", s.required, p->target());
    runner = std::make_unique<lg::probes::BasicProbeRunner<lg::core::ManualClock>>(
        lg::core::ManualClock(time), health, *component, s, std::move(p), *metrics, lg::config::Reports{});
  }

  // Starts the runner and answers `attempts` attempts at once (ok), firing timers in between.
  void run_instant(size_t attempts) {
    runner->start();
    while (starts.size() < attempts) {
      REQUIRE(time.fire_next());
      if (probe->pending()) probe->answer(Outcome::success("answered"));
    }
  }

  lg::core::ManualTime time;
  std::vector<uint64_t> starts;
  int cancels = 0;
  HeldProbe* probe = nullptr;
  lg::metrics::Registry registry;
  lg::probes::HealthState health;
  std::unique_ptr<lg::probes::ProbeMetrics> metrics;
  lg::probes::Component* component = nullptr;
  std::unique_ptr<lg::probes::BasicProbeRunner<lg::core::ManualClock>> runner;
};

std::vector<uint64_t> gaps(const std::vector<uint64_t>& starts) {
  std::vector<uint64_t> g;
  for (size_t i = 1; i < starts.size(); ++i) g.push_back(starts[i] - starts[i - 1]);
  return g;
}

}  // namespace

TEST_CASE("probe runner: jitter spreads attempts over [interval x (1 - jitter), interval], never later",
          "[unit][probes][schedule]") {
  lg::config::ProbeSchedule s;
  s.interval = 50ms;
  s.timeout = 40ms;
  s.jitter = 0.4;  // each gap is 50 ms minus a uniform 0 to 20 ms
  Schedule sc(s);
  const uint64_t t0 = sc.time.now_ms();
  sc.run_instant(201);
  const auto g = gaps(sc.starts);
  const auto [lo, hi] = std::minmax_element(g.begin(), g.end());
  const double mean = static_cast<double>(std::accumulate(g.begin(), g.end(), uint64_t{0})) / static_cast<double>(g.size());
  INFO("gaps: min " << *lo << " ms, max " << *hi << " ms, mean " << mean << " ms; first after "
                    << sc.starts.front() - t0 << " ms");
  CHECK(*lo >= 30);                      // never shorter than interval x (1 - jitter)
  CHECK(*hi <= 50);                      // never held past the interval
  CHECK(mean >= 37.5);                   // 50 ms less a uniform 0-20 ms, in whole ms (30-49):
  CHECK(mean <= 41.5);                   // the mean is 39.5 ms, its spread over 200 gaps 0.4 ms
  CHECK(*hi - *lo >= 15);                // spread, not lockstep
  CHECK(sc.starts.front() - t0 <= 50);   // the first attempt comes right away (0-50 ms)
}

TEST_CASE("probe runner: without jitter attempts start an interval apart", "[unit][probes][schedule]") {
  lg::config::ProbeSchedule s;
  s.interval = 40ms;
  s.timeout = 30ms;
  s.jitter = 0;
  Schedule sc(s);
  sc.run_instant(21);
  for (uint64_t gap : gaps(sc.starts)) CHECK(gap == 40);
}

TEST_CASE("probe runner: a slow attempt does not stretch the period, a hung one is cut at its timeout",
          "[unit][probes][schedule]") {
  lg::config::ProbeSchedule s;
  s.interval = 100ms;
  s.timeout = 60ms;
  s.jitter = 0;
  s.fall = 1;
  Schedule sc(s);
  sc.runner->start();
  REQUIRE(sc.time.fire_next());
  REQUIRE(sc.probe->pending());
  const uint64_t first = sc.starts.at(0);

  // Answered after 45 ms: the next attempt still starts 100 ms after the first one started.
  sc.time.advance(45ms);
  sc.probe->answer(Outcome::success("slow"));
  CHECK(sc.component->last_latency_s == Approx(0.045));
  REQUIRE(sc.time.fire_next());
  REQUIRE(sc.starts.size() == 2);
  CHECK(sc.starts[1] - first == 100);

  // Never answered: cut at exactly 60 ms, reported as a timeout, the probe cancelled.
  sc.time.advance(59ms);
  CHECK(sc.cancels == 0);
  CHECK(sc.component->reason_code == "ok");
  sc.time.advance(1ms);
  CHECK(sc.cancels == 1);
  CHECK(sc.component->reason_code == "timeout");
  CHECK(sc.component->status == lg::probes::Status::Down);
  CHECK(sc.component->reason == "no answer within 60ms (timeout)");

  // The next attempt comes 100 ms after the cut one started; no second attempt before it.
  sc.time.advance(39ms);
  CHECK(sc.starts.size() == 2);
  sc.time.advance(1ms);
  REQUIRE(sc.starts.size() == 3);
  CHECK(sc.starts[2] - sc.starts[1] == 100);
}

TEST_CASE("probe runner: a late answer from an attempt that timed out is dropped", "[unit][probes][schedule]") {
  lg::config::ProbeSchedule s;
  s.interval = 100ms;
  s.timeout = 50ms;
  s.jitter = 0;
  s.fall = 1;
  s.rise = 1;
  Schedule sc(s);
  sc.runner->start();
  REQUIRE(sc.time.fire_next());
  auto late = sc.probe->stolen();  // the probe "forgets" to cancel: its answer comes anyway
  REQUIRE(late);
  sc.time.advance(50ms);
  CHECK(sc.component->reason_code == "timeout");
  const size_t results = sc.component->history.size();
  late(Outcome::success("too late"));
  CHECK(sc.component->history.size() == results);
  CHECK(sc.component->status == lg::probes::Status::Down);
}

TEST_CASE("probe runner: the startup grace keeps failures unknown, then counts them", "[unit][probes][schedule]") {
  lg::config::ProbeSchedule s;
  s.interval = 100ms;
  s.timeout = 50ms;
  s.jitter = 0;
  s.fall = 1;
  s.grace = 260ms;
  Schedule sc(s);
  sc.runner->start();
  // The first attempt comes within 0-50 ms, then one every 100 ms: three fail within the grace.
  for (int i = 0; i < 3; ++i) {
    REQUIRE(sc.time.fire_next());
    sc.probe->answer(Outcome::failure("refused", "connection refused"));
    CHECK(sc.component->status == lg::probes::Status::Unknown);
  }
  REQUIRE(sc.time.fire_next());
  sc.probe->answer(Outcome::failure("refused", "connection refused"));
  CHECK(sc.component->status == lg::probes::Status::Down);
}

TEST_CASE("probe runner: stop() cancels the attempt in flight and fires nothing after", "[unit][probes][schedule]") {
  lg::config::ProbeSchedule s;
  s.interval = 100ms;
  s.timeout = 50ms;
  Schedule sc(s);
  sc.runner->start();
  REQUIRE(sc.time.fire_next());
  REQUIRE(sc.probe->pending());
  sc.runner->stop();
  CHECK(sc.cancels == 1);
  CHECK(sc.time.armed() == 0);
  sc.time.advance(1000ms);
  CHECK(sc.starts.size() == 1);
}

TEST_CASE("probe runner: a component not up is probed every down_interval, and at the interval once up again",
          "[unit][probes][schedule]") {
  lg::config::ProbeSchedule s;
  s.interval = 5000ms;
  s.down_interval = 250ms;
  s.timeout = 100ms;
  s.jitter = 0;
  s.fall = 2;
  s.rise = 2;
  Schedule sc(s);
  sc.runner->start();
  auto attempt = [&](bool ok) {
    REQUIRE(sc.time.fire_next());
    REQUIRE(sc.probe->pending());
    // A 5xx: the server answers, so no follow-up (a refused one is, below).
    sc.probe->answer(ok ? Outcome::success("ok") : Outcome::failure("http_5xx", "answered HTTP 500"));
  };
  using lg::probes::Status;
  attempt(true);  // unknown -> up at the first success
  CHECK(sc.component->status == Status::Up);
  attempt(false);
  attempt(false);  // fall 2: down
  CHECK(sc.component->status == Status::Down);
  attempt(false);
  attempt(true);  // rise 2: still down after one success
  CHECK(sc.component->status == Status::Down);
  attempt(true);
  CHECK(sc.component->status == Status::Up);
  attempt(true);
  attempt(true);
  // Up: 5 s apart; the failures that made it down too (it was up then); from down on, 250 ms.
  CHECK(gaps(sc.starts) == std::vector<uint64_t>{5000, 5000, 250, 250, 250, 5000, 5000});
}

TEST_CASE("probe runner: the down interval never slows probing, and 0 turns it off", "[unit][probes][schedule]") {
  lg::config::ProbeSchedule s;
  s.interval = 100ms;
  s.timeout = 50ms;
  s.jitter = 0;
  s.fall = 1;
  SECTION("longer than the interval: the interval") { s.down_interval = 250ms; }
  SECTION("0: the interval") { s.down_interval = 0ms; }
  Schedule sc(s);
  sc.runner->start();
  for (int i = 0; i < 4; ++i) {
    REQUIRE(sc.time.fire_next());
    sc.probe->answer(Outcome::failure("refused", "connection refused"));
    CHECK(sc.component->status == lg::probes::Status::Down);
  }
  CHECK(gaps(sc.starts) == std::vector<uint64_t>{100, 100, 100});
}

TEST_CASE("probe runner: a passive signal re-probes at once, failures follow 5 ms apart until down",
          "[unit][probes][schedule][passive]") {
  lg::config::ProbeSchedule s;
  s.interval = 5000ms;
  s.down_interval = 250ms;
  s.timeout = 100ms;
  s.jitter = 0;
  s.fall = 3;
  s.rise = 2;
  Schedule sc(s);
  using lg::probes::Status;
  const auto refused = Outcome::failure("refused", "connection refused");
  sc.runner->start();
  REQUIRE(sc.time.fire_next());
  sc.probe->answer(Outcome::success("ok"));
  REQUIRE(sc.component->status == Status::Up);
  sc.time.advance(1000ms);  // mid-interval: the next scheduled attempt is 4 s away
  const uint64_t signal_at = sc.time.now_ms();
  REQUIRE(sc.component->on_passive);
  sc.component->on_passive("forwarder", "refused");
  for (int i = 0; i < 3; ++i) {
    REQUIRE(sc.time.fire_next());
    REQUIRE(sc.probe->pending());
    sc.probe->answer(refused);
  }
  CHECK(sc.component->status == Status::Down);  // fall 3 still counted, 10 ms after the signal
  CHECK(std::vector<uint64_t>(sc.starts.begin() + 1, sc.starts.end()) ==
        std::vector<uint64_t>{signal_at, signal_at + 5, signal_at + 10});
  // Down: a signal changes nothing, the down interval goes on.
  sc.component->on_passive("forwarder", "refused");
  REQUIRE(sc.time.fire_next());
  CHECK(sc.starts.back() == signal_at + 10 + 250);
}

TEST_CASE("probe runner: an attempt that finds the server gone while up is followed up like a signal",
          "[unit][probes][schedule][passive]") {
  // A kill that lands on an attempt (the attempt had taken what would have tripped: PostgreSQL's
  // kept session) is down fall x 5 ms later, not fall intervals later. A failure the server
  // answered (a 5xx, a timeout) is not followed up.
  lg::config::ProbeSchedule s;
  s.interval = 5000ms;
  s.down_interval = 250ms;
  s.timeout = 100ms;
  s.jitter = 0;
  s.fall = 3;
  Schedule sc(s);
  using lg::probes::Status;
  sc.runner->start();
  REQUIRE(sc.time.fire_next());
  sc.probe->answer(Outcome::success("ok"));
  SECTION("closed, refused, shutting_down: followed 5 ms apart until down") {
    REQUIRE(sc.time.fire_next());
    const uint64_t first = sc.starts.back();
    sc.probe->answer(Outcome::failure("closed", "server closed the connection unexpectedly"));
    REQUIRE(sc.time.fire_next());
    sc.probe->answer(Outcome::failure("refused", "connection refused"));
    CHECK(sc.component->status == Status::Up);
    REQUIRE(sc.time.fire_next());
    sc.probe->answer(Outcome::failure("shutting_down", "terminating connection"));
    CHECK(sc.component->status == Status::Down);
    CHECK(std::vector<uint64_t>(sc.starts.end() - 3, sc.starts.end()) ==
          std::vector<uint64_t>{first, first + 5, first + 10});
  }
  SECTION("a re-probe that succeeds ends it; the next failure is followed up again") {
    REQUIRE(sc.time.fire_next());
    const uint64_t first = sc.starts.back();
    sc.probe->answer(Outcome::failure("reset", "connection reset"));
    REQUIRE(sc.time.fire_next());
    sc.probe->answer(Outcome::success("ok"));
    REQUIRE(sc.time.fire_next());
    CHECK(sc.starts.back() == first + 5 + 5000);
    sc.probe->answer(Outcome::failure("refused", "connection refused"));
    REQUIRE(sc.time.fire_next());
    CHECK(sc.starts.back() == first + 5 + 5000 + 5);
    CHECK(sc.component->status == Status::Up);
  }
  SECTION("a timeout or a 5xx: the interval") {
    for (const char* code : {"timeout", "http_5xx"}) {
      REQUIRE(sc.time.fire_next());
      const uint64_t at = sc.starts.back();
      sc.probe->answer(Outcome::failure(code, code));
      REQUIRE(sc.time.fire_next());
      CHECK(sc.starts.back() == at + 5000);
      sc.probe->answer(Outcome::success("ok"));
    }
  }
}

TEST_CASE("probe runner: a re-probe that succeeds ends the chase, and signals then rest for a second",
          "[unit][probes][schedule][passive]") {
  lg::config::ProbeSchedule s;
  s.interval = 5000ms;
  s.timeout = 100ms;
  s.jitter = 0;
  s.fall = 3;
  Schedule sc(s);
  using lg::probes::Status;
  sc.runner->start();
  REQUIRE(sc.time.fire_next());
  sc.probe->answer(Outcome::success("ok"));
  sc.time.advance(1000ms);
  const uint64_t signal_at = sc.time.now_ms();
  sc.component->on_passive("forwarder", "reset");  // one lost connection, the server is fine
  REQUIRE(sc.time.fire_next());
  CHECK(sc.starts.back() == signal_at);
  sc.probe->answer(Outcome::success("ok"));
  CHECK(sc.component->status == Status::Up);
  // Within the quiet second: not followed; the next attempt is the interval after the re-probe.
  sc.time.advance(500ms);
  sc.component->on_passive("forwarder", "reset");
  REQUIRE(sc.time.fire_next());
  CHECK(sc.starts.back() == signal_at + 5000);
  sc.probe->answer(Outcome::success("ok"));
  // After it: followed again; a signal while an attempt is in flight waits for its result.
  sc.time.advance(1500ms);
  sc.component->on_passive("forwarder", "refused");
  REQUIRE(sc.time.fire_next());
  CHECK(sc.starts.back() == signal_at + 6500);
  sc.component->on_passive("forwarder", "refused");  // in flight: no second attempt at once
  CHECK(sc.starts.size() == 4);
  sc.probe->answer(Outcome::failure("refused", "connection refused"));
  REQUIRE(sc.time.fire_next());
  CHECK(sc.starts.back() == signal_at + 6505);
  CHECK(sc.component->status == Status::Up);  // one failure of three
}

TEST_CASE("probe runner: a chase in the startup grace stops after fall attempts", "[unit][probes][schedule][passive]") {
  lg::config::ProbeSchedule s;
  s.interval = 5000ms;
  s.down_interval = 0ms;
  s.timeout = 100ms;
  s.jitter = 0;
  s.fall = 2;
  s.grace = 60000ms;
  Schedule sc(s);
  sc.runner->start();
  REQUIRE(sc.time.fire_next());
  sc.probe->answer(Outcome::failure("refused", "connection refused"));
  REQUIRE(sc.component->status == lg::probes::Status::Unknown);
  sc.time.advance(100ms);
  const uint64_t signal_at = sc.time.now_ms();
  sc.component->on_passive("forwarder", "refused");
  for (int i = 0; i < 3; ++i) {
    REQUIRE(sc.time.fire_next());
    sc.probe->answer(Outcome::failure("refused", "connection refused"));
  }
  CHECK(sc.component->status == lg::probes::Status::Unknown);
  // Two chase attempts (fall 2), then the interval: 5 s after the chase's last start.
  CHECK(std::vector<uint64_t>(sc.starts.end() - 3, sc.starts.end()) ==
        std::vector<uint64_t>{signal_at, signal_at + 5, signal_at + 5 + 5000});
}

TEST_CASE("probe runner: a flapping network (a lost connection every 100 ms, the server fine) never fails the "
          "gate and costs at most one re-probe a second", "[unit][probes][schedule][passive]") {
  lg::config::ProbeSchedule s;
  s.interval = 5000ms;
  s.timeout = 100ms;
  s.jitter = 0;
  s.fall = 3;
  Schedule sc(s);
  sc.runner->start();
  REQUIRE(sc.time.fire_next());
  sc.probe->answer(Outcome::success("ok"));
  const size_t before = sc.starts.size();
  for (int i = 0; i < 100; ++i) {  // 10 s of signals, one every 100 ms; every probe succeeds
    sc.time.advance(100ms);
    sc.component->on_passive("held", "reset");
    sc.time.advance(0ms);  // a re-probe due now starts now
    if (sc.probe->pending()) sc.probe->answer(Outcome::success("ok"));
    REQUIRE(sc.component->status == lg::probes::Status::Up);
  }
  const size_t attempts = sc.starts.size() - before;
  INFO(attempts << " attempts in 10 s");
  CHECK(attempts >= 9);   // the signals are followed (about one a second)...
  CHECK(attempts <= 12);  // ...but not one each: 10 re-probes and 2 at the interval at most
}
