#include "probes/probe_runner.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/log.hpp"
#include "core/manual_clock.hpp"

namespace lg::probes {

namespace {
constexpr uint64_t kReprobeGapMs = 5;       // between the attempts of a chase after a signal
constexpr uint64_t kSignalQuietMs = 1000;   // signals ignored this long after a chase's success

// A failure of the probe's own that shows the server's process gone: nothing listens, the
// connection was reset or closed under the attempt, or the backend's FATAL at its postmaster's
// death. A kill that lands on an attempt is then followed up like a passive signal; otherwise it
// would wait fall intervals, since the attempt had taken what would have tripped (PostgreSQL's
// kept session, when a fresh connection was due: 9.7 s instead of 20 ms, in detect_kill).
bool server_gone(const std::string& code) {
  return code == "refused" || code == "reset" || code == "closed" || code == "shutting_down";
}
}  // namespace

template <class Clock>
BasicProbeRunner<Clock>::BasicProbeRunner(Clock clock, HealthState& health, Component& component,
                                          const config::ProbeSchedule& schedule, std::unique_ptr<Probe> probe,
                                          ProbeMetrics& metrics, config::Reports reports)
    : clock_(clock),
      health_(health),
      component_(component),
      schedule_(schedule),
      probe_(std::move(probe)),
      metrics_(metrics),
      reports_(reports),
      created_(clock_.seconds()),
      rng_(static_cast<unsigned>(std::hash<std::string>{}(component.name) ^ static_cast<unsigned>(uv_hrtime()))) {
  interval_timer_ = clock_.timer([this] { fire(); });
  timeout_timer_ = clock_.timer([this] { on_timeout(); });
  metrics_.state(component_, false);
  component_.on_passive = [this](const char* source, const char* reason) { passive(source, reason); };
  watch_ = probe_->watch();
}

template <class Clock>
BasicProbeRunner<Clock>::~BasicProbeRunner() {
  stop();
}

template <class Clock>
void BasicProbeRunner<Clock>::start() {
  std::uniform_int_distribution<int> first(0, 50);
  interval_timer_->start(core::Millis{first(rng_)});
}

template <class Clock>
void BasicProbeRunner<Clock>::stop() {
  if (stopped_) return;
  stopped_ = true;
  component_.on_passive = nullptr;
  watch_.reset();
  if (in_flight_) probe_->cancel();
  in_flight_ = false;
  interval_timer_->close();
  timeout_timer_->close();
}

template <class Clock>
void BasicProbeRunner<Clock>::fire() {
  if (in_flight_ || stopped_) return;  // never overlap itself
  in_flight_ = true;
  const uint64_t attempt = ++attempt_;
  attempt_started_ = clock_.seconds();
  attempt_started_ms_ = clock_.now_ms();
  timeout_timer_->start(schedule_.timeout);
  probe_->start([this, attempt](Outcome o) {
    // A late answer from an attempt that already timed out is dropped.
    if (stopped_ || !in_flight_ || attempt != attempt_) return;
    finish(std::move(o));
  });
}

template <class Clock>
void BasicProbeRunner<Clock>::on_timeout() {
  if (!in_flight_) return;
  probe_->cancel();
  finish(Outcome::failure("timeout",
                          fmt::format("no answer within {} (timeout)", core::format_duration(schedule_.timeout))));
}

template <class Clock>
void BasicProbeRunner<Clock>::finish(Outcome o) {
  in_flight_ = false;
  timeout_timer_->stop();
  o.latency_s = clock_.seconds() - attempt_started_;
  const bool in_grace = clock_.seconds() - created_ < static_cast<double>(schedule_.grace.count()) / 1000.0;
  const Status previous = component_.status;
  const bool changed = health_.record(component_, o, schedule_.rise, schedule_.fall, in_grace);
  metrics_.observe(component_, o, reports_);
  metrics_.state(component_, changed);
  log_result(o, previous, changed);
  if (o.ok && watch_) watch_->ensure([this](const char* reason) { passive("held", reason); });
  const bool was_up = previous == Status::Up || previous == Status::Degraded;
  if (!o.ok && was_up && !chasing_ && server_gone(o.reason_code)) begin_chase();  // this failure is its first
  schedule_next(o.ok);
}

template <class Clock>
void BasicProbeRunner<Clock>::log_result(const Outcome& o, Status previous, bool changed) {
  auto log = core::log::get(component_.name);
  if (changed) {
    auto level = component_.status == Status::Down ? core::log::Level::Warn : core::log::Level::Info;
    log.log(level, "{} -> {}: {}", to_string(previous), to_string(component_.status), component_.reason);
    last_logged_code_ = o.reason_code;
    return;
  }
  // While not up, a new kind of failure is news (refused -> auth failed); the same one is not.
  if (!o.ok && o.reason_code != last_logged_code_) {
    log.info("still {}: {}", to_string(component_.status), component_.reason);
  }
  last_logged_code_ = o.reason_code;
}

template <class Clock>
void BasicProbeRunner<Clock>::passive(const char* source, const char* reason) {
  metrics_.passive(component_, source, reason);
  if (stopped_ || chasing_ || component_.status == Status::Down) return;  // down: probed every down interval
  const uint64_t now = clock_.now_ms();
  if (now < quiet_until_ms_) return;
  begin_chase();
  core::log::get(component_.name).debug("{} failure seen by the {}: probing again now", reason, source);
  if (in_flight_) return;  // its result is the chase's first
  const uint64_t since = now - attempt_started_ms_;
  interval_timer_->start(core::Millis{static_cast<int64_t>(since >= kReprobeGapMs ? 0 : kReprobeGapMs - since)});
}

template <class Clock>
void BasicProbeRunner<Clock>::begin_chase() {
  chasing_ = true;
  chase_left_ = std::max(schedule_.fall, 1);
}

// A chase ends at a success (then signals rest for kSignalQuietMs), at down, or after fall
// attempts (a failure that does not count, as in the startup grace, cannot make it endless).
template <class Clock>
bool BasicProbeRunner<Clock>::chase_next(bool ok) {
  if (!chasing_) return false;
  if (!ok && component_.status != Status::Down && --chase_left_ > 0) {
    interval_timer_->start(core::Millis{static_cast<int64_t>(kReprobeGapMs)});
    return true;
  }
  chasing_ = false;
  if (ok) quiet_until_ms_ = clock_.now_ms() + kSignalQuietMs;
  return false;
}

template <class Clock>
void BasicProbeRunner<Clock>::schedule_next(bool ok) {
  if (stopped_ || chase_next(ok)) return;
  // Attempts start an interval apart (measured from the previous start, so a slow probe does
  // not stretch the period). Jitter only shortens the interval: probes never fire in lockstep,
  // and detection stays within interval x fall + timeout.
  const double base = static_cast<double>(interval_now().count());
  std::uniform_real_distribution<double> jitter(0.0, base * schedule_.jitter);
  // In the loop's time, as the timer counts: the next start is exactly an interval (less the
  // jitter) after this one.
  const double elapsed_ms = static_cast<double>(clock_.now_ms() - attempt_started_ms_);
  const double next = std::max(base - jitter(rng_) - elapsed_ms, 1.0);
  interval_timer_->start(core::Millis{static_cast<int64_t>(next)});
}

// While the component is not up (down, or unknown: not probed yet or in its grace) it is probed
// every down_interval (Envoy's unhealthy_interval), so a server back is seen within about that
// plus rise: a restart costs the gate a second, not interval x rise. Never slower than the
// interval.
template <class Clock>
core::Millis BasicProbeRunner<Clock>::interval_now() const {
  const bool up = component_.status == Status::Up || component_.status == Status::Degraded;
  if (up || schedule_.down_interval.count() <= 0) return schedule_.interval;
  return std::min(schedule_.interval, schedule_.down_interval);
}

// The loop's clock for lettagate; the tests' hand-driven one for the schedule tests (dropped
// from the binary by --gc-sections).
template class BasicProbeRunner<core::LoopClock>;
template class BasicProbeRunner<core::ManualClock>;

}  // namespace lg::probes
