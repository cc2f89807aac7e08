#pragma once
// Helpers for probe tests against the real services: one component driven by the real
// ProbeRunner (timeouts, rise/fall, health state) on a private loop, the stand-in's mode
// switch and service stops as RAII guards that always restore the service.
#include <uv.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "metrics/registry.hpp"
#include "probes/health_state.hpp"
#include "probes/probe_metrics.hpp"
#include "probes/probe_runner.hpp"
#include "support/test_env.hpp"
#include "support/test_loop.hpp"

namespace lgtest {

// parse_config over the process environment's absence: only the flags given count.
inline lg::config::Config config_from(std::vector<std::string> args) {
  auto r = lg::config::parse_config(args, [](const char*) -> const char* { return nullptr; });
  INFO((r.error ? r.error->str() : std::string()));
  REQUIRE(r.config);
  return *r.config;
}

// One component probed by a real ProbeRunner on its own loop.
class ProbeHarness {
 public:
  using Factory = std::function<std::unique_ptr<lg::probes::Probe>(uv_loop_t*)>;
  ProbeHarness(const std::string& name, const lg::config::ProbeSchedule& schedule, const Factory& make) : name_(name) {
    auto probe = make(loop_.get());
    metrics_ = std::make_unique<lg::probes::ProbeMetrics>(registry_, health_);
    component_ = &health_.add(name, schedule.required, probe->target());
    runner_ = std::make_unique<lg::probes::ProbeRunner>(loop_.get(), health_, *component_, schedule, std::move(probe),
                                                        *metrics_, lg::config::Reports{.http_status = true});
  }
  ~ProbeHarness() {
    runner_.reset();  // cancels the attempt in flight; its handles close on the next loop turns
    // Every handle an attempt opened is closed once it is cancelled or done: nothing leaks.
    CHECK(loop_.close());
  }
  uv_loop_t* loop() { return loop_.get(); }

  // Starts the runner (first call) and runs the loop until `results` results were recorded.
  const lg::probes::Component& run_results(uint64_t results, std::chrono::milliseconds timeout) {
    if (!started_) runner_->start();
    started_ = true;
    const uint64_t target = seen_ + results;
    bool ok = loop_.run_until([&] { return count() >= target; }, timeout);
    INFO("component " << name_ << ": " << component_->reason);
    REQUIRE(ok);
    seen_ = count();
    return *component_;
  }
  const lg::probes::Component& first_result(std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
    return run_results(1, timeout);
  }
  const lg::probes::HealthState& health() const { return health_; }
  const lg::probes::Component& component() const { return *component_; }

 private:
  // Results recorded so far (the history keeps 60; a test here never records that many).
  uint64_t count() const { return component_->history.size(); }

  std::string name_;
  TestLoop loop_;
  lg::metrics::Registry registry_;
  lg::probes::HealthState health_;
  std::unique_ptr<lg::probes::ProbeMetrics> metrics_;
  lg::probes::Component* component_ = nullptr;
  std::unique_ptr<lg::probes::ProbeRunner> runner_;
  bool started_ = false;
  uint64_t seen_ = 0;
};

// Sets the Letta stand-in's mode for the guard's lifetime; `ok` again afterwards, whatever happens.
class StandinMode {
 public:
  explicit StandinMode(const std::string& mode, const std::string& query = "") {
    auto r = set(mode, query);
    INFO("setting stand-in mode " << mode << ": " << r.out);
    REQUIRE(r.exit_code == 0);
    REQUIRE(r.out == mode);
  }
  ~StandinMode() { set("ok", ""); }
  StandinMode(const StandinMode&) = delete;
  StandinMode& operator=(const StandinMode&) = delete;

 private:
  static CommandResult set(const std::string& mode, const std::string& query) {
    return run("curl -sS --max-time 5 -X POST --data '" + mode + "' '" + env("LG_LETTA_URL") + "/_standin/mode" +
                   query + "'",
               10);
  }
};

// Stops a service (scripts/services stop NAME) for the guard's lifetime; starts it again in the
// destructor, also when the test fails.
class ServiceStopped {
 public:
  explicit ServiceStopped(std::string name) : name_(std::move(name)) {
    auto r = run(source_dir() + "/scripts/services stop " + name_, 120);
    INFO("scripts/services stop " << name_ << ":\n" << r.out);
    REQUIRE(r.exit_code == 0);
  }
  ~ServiceStopped() {
    if (!restarted_) restart();
  }
  // Starts the service again now; true when it worked (the destructor then does nothing).
  bool restart() {
    restarted_ = true;
    auto r = run(source_dir() + "/scripts/services start " + name_, 120);
    if (r.exit_code != 0) WARN("scripts/services start " << name_ << " failed:\n" << r.out);
    return r.exit_code == 0;
  }
  ServiceStopped(const ServiceStopped&) = delete;
  ServiceStopped& operator=(const ServiceStopped&) = delete;

 private:
  std::string name_;
  bool restarted_ = false;
};

}  // namespace lgtest
