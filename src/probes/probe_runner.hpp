#pragma once
// ProbeRunner: one per component. Owns the interval and timeout timers and the protocol Probe,
// runs an attempt every interval (jittered), never two at once, cuts a slow one at its
// timeout, and feeds each result through rise/fall into the HealthState.
//
// Written against a Clock (core/loop_clock.hpp): ProbeRunner runs on the loop's time and
// timers; the schedule tests run BasicProbeRunner<ManualClock> and fire its timers by hand.
#include <uv.h>

#include <memory>
#include <random>
#include <string>

#include "config/config.hpp"
#include "core/loop_clock.hpp"
#include "probes/health_state.hpp"
#include "probes/held_connection.hpp"
#include "probes/probe.hpp"
#include "probes/probe_metrics.hpp"

namespace lg::probes {

template <class Clock>
class BasicProbeRunner {
 public:
  // `reports`: what the component reports beyond up or down (its metrics).
  BasicProbeRunner(Clock clock, HealthState& health, Component& component, const config::ProbeSchedule& schedule,
                   std::unique_ptr<Probe> probe, ProbeMetrics& metrics, config::Reports reports);
  ~BasicProbeRunner();
  BasicProbeRunner(const BasicProbeRunner&) = delete;
  BasicProbeRunner& operator=(const BasicProbeRunner&) = delete;

  void start();  // first attempt right away (within a small jitter)
  // A passive signal (Component::on_passive): counted; unless the component is down already, it
  // is probed again at once, and after each failure again a few ms later, until a success, down,
  // or fall attempts; after a success, signals are not followed for a second (the server
  // answered a fresh probe: the failure was not the server's). Not a mark-down on its own.
  // An attempt of its own that finds the server gone (refused, reset, closed, shutting_down)
  // while up is followed up the same way.
  void passive(const char* source, const char* reason);
  // A connection to hold between probes (held_connection.hpp): (re)opened after every success;
  // its end is a passive signal (source "held"). Closed by stop(). A probe's own Watch
  // (Probe::watch(), PostgreSQL's kept session) is taken at construction.
  void hold_connection(std::unique_ptr<Watch> watch) { watch_ = std::move(watch); }
  void stop();   // cancels the attempt in flight and closes the timers
  const Component& component() const { return component_; }

 private:
  void fire();
  void on_timeout();
  void finish(Outcome o);
  void schedule_next(bool ok);
  void begin_chase();        // after a signal, or an attempt that found the server gone
  bool chase_next(bool ok);  // true: the next attempt of a chase after a signal is scheduled
  core::Millis interval_now() const;  // the interval, or the down interval while not up
  void log_result(const Outcome& o, Status previous, bool changed);

  Clock clock_;
  HealthState& health_;
  Component& component_;
  config::ProbeSchedule schedule_;
  std::unique_ptr<Probe> probe_;
  std::unique_ptr<Watch> watch_;
  ProbeMetrics& metrics_;
  config::Reports reports_;  // what the component reports beyond up or down (its metrics)
  typename Clock::Timer* interval_timer_ = nullptr;
  typename Clock::Timer* timeout_timer_ = nullptr;
  bool in_flight_ = false;
  bool stopped_ = false;
  uint64_t attempt_ = 0;
  double attempt_started_ = 0;      // clock seconds: the latency
  uint64_t attempt_started_ms_ = 0;  // loop time: the schedule
  double created_ = 0;
  std::string last_logged_code_;
  bool chasing_ = false;         // re-probing after a passive signal
  int chase_left_ = 0;           // attempts the chase may still make
  uint64_t quiet_until_ms_ = 0;  // signals are not followed before this (a re-probe succeeded)
  std::minstd_rand rng_;
};

using ProbeRunner = BasicProbeRunner<core::LoopClock>;

}  // namespace lg::probes
