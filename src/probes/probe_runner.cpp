#include "probes/probe_runner.hpp"

#include <fmt/format.h>

#include "core/clock.hpp"
#include "core/log.hpp"

namespace lg::probes {

ProbeRunner::ProbeRunner(uv_loop_t* loop, HealthState& health, Component& component, const ProbeSchedule& schedule,
                         std::unique_ptr<Probe> probe, ProbeMetrics& metrics, Reports reports)
    : loop_(loop),
      health_(health),
      component_(component),
      schedule_(schedule),
      probe_(std::move(probe)),
      metrics_(metrics),
      reports_(reports),
      created_(mono_seconds()),
      rng_(static_cast<unsigned>(std::hash<std::string>{}(component.name) ^ static_cast<unsigned>(uv_hrtime()))) {
  interval_timer_ = Timer::create(loop_, [this] { fire(); });
  timeout_timer_ = Timer::create(loop_, [this] { on_timeout(); });
  metrics_.state(component_, false);
}

ProbeRunner::~ProbeRunner() { stop(); }

void ProbeRunner::start() {
  std::uniform_int_distribution<int> first(0, 50);
  interval_timer_->start(Millis{first(rng_)});
}

void ProbeRunner::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (in_flight_) probe_->cancel();
  in_flight_ = false;
  interval_timer_->close();
  timeout_timer_->close();
}

void ProbeRunner::fire() {
  if (in_flight_ || stopped_) return;  // never overlap itself
  in_flight_ = true;
  const uint64_t attempt = ++attempt_;
  attempt_started_ = mono_seconds();
  timeout_timer_->start(schedule_.timeout);
  probe_->start([this, attempt](Outcome o) {
    // A late answer from an attempt that already timed out is dropped.
    if (stopped_ || !in_flight_ || attempt != attempt_) return;
    finish(std::move(o));
  });
}

void ProbeRunner::on_timeout() {
  if (!in_flight_) return;
  probe_->cancel();
  finish(Outcome::failure("timeout", fmt::format("no answer within {} (timeout)", format_duration(schedule_.timeout))));
}

void ProbeRunner::finish(Outcome o) {
  in_flight_ = false;
  timeout_timer_->stop();
  o.latency_s = mono_seconds() - attempt_started_;
  const bool in_grace = mono_seconds() - created_ < static_cast<double>(schedule_.grace.count()) / 1000.0;
  const Status previous = component_.status;
  const bool changed = health_.record(component_, o, schedule_.rise, schedule_.fall, in_grace);
  metrics_.observe(component_, o, reports_);
  metrics_.state(component_, changed);
  log_result(o, previous, changed);
  schedule_next();
}

void ProbeRunner::log_result(const Outcome& o, Status previous, bool changed) {
  auto log = log::get(component_.name);
  if (changed) {
    auto level = component_.status == Status::Down ? log::Level::Warn : log::Level::Info;
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

void ProbeRunner::schedule_next() {
  if (stopped_) return;
  // Attempts start an interval apart (measured from the previous start, so a slow probe does
  // not stretch the period). Jitter only shortens the interval: probes never fire in lockstep,
  // and detection stays within interval x fall + timeout.
  const double base = static_cast<double>(schedule_.interval.count());
  std::uniform_real_distribution<double> jitter(0.0, base * schedule_.jitter);
  const double elapsed_ms = (mono_seconds() - attempt_started_) * 1000.0;
  const double next = std::max(base - jitter(rng_) - elapsed_ms, 1.0);
  interval_timer_->start(Millis{static_cast<int64_t>(next)});
}

}  // namespace lg::probes
