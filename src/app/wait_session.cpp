#include "app/wait_session.hpp"

#include <algorithm>
#include <csignal>

#include "app/components.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"

namespace lg::app {

namespace {

constexpr core::Millis kTick{50};

// The longest probe timeout of the enabled components: by then every probe has had its first
// answer or failed, so a ready gate need not wait longer for optional components.
core::Millis longest_probe_timeout(const config::Config& c) {
  core::Millis t{0};
  if (c.letta.enabled) t = std::max(t, c.letta.schedule.timeout);
  if (c.postgres.enabled) t = std::max(t, c.postgres.schedule.timeout);
  if (c.redis.enabled) t = std::max(t, c.redis.schedule.timeout);
  if (c.nginx.enabled) t = std::max(t, c.nginx.schedule.timeout);
  for (const auto& tc : c.tcp_checks) t = std::max(t, tc.schedule.timeout);
  return t;
}

}  // namespace

WaitSession::WaitSession(uv_loop_t* loop, const config::Config& config, core::Millis timeout, WaitView& view)
    : loop_(loop), config_(config), timeout_(timeout), view_(view) {
  probe_metrics_ = std::make_unique<probes::ProbeMetrics>(registry_, health_);
  optional_wait_s_ = static_cast<double>(longest_probe_timeout(config_).count()) / 1000.0 + 0.25;
}

WaitSession::~WaitSession() { close_handles(); }

void WaitSession::start() {
  started_ = core::mono_seconds();
  add_configured_components(loop_, config_, health_, *probe_metrics_, runners_);
  listener_ = health_.subscribe([this](const probes::Component& c, probes::Status previous) {
    view_.transition(c, previous, elapsed_s());
  });
  view_.begin(health_, timeout_);

  for (int signum : {SIGINT, SIGTERM}) {
    signals_.push_back(core::Signal::create(loop_, signum, [this](int sig) {
      core::log::get("wait").info("{} received: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
      finish(false, true);
    }));
  }
  ticker_ = core::Timer::create(loop_, [this] { on_tick(); });
  ticker_->start(core::Millis{0}, kTick);
  for (auto& r : runners_) r->start();
}

double WaitSession::elapsed_s() const { return core::mono_seconds() - started_; }

bool WaitSession::optional_components_reported() const {
  for (const auto& c : health_.components())
    if (!c->required && c->last_check == 0) return false;
  return true;
}

void WaitSession::on_tick() {
  const double elapsed = elapsed_s();
  // Ready once every required component is up; optional ones get until their first result
  // (bounded by the longest probe timeout) so the summary shows their state, not "unknown".
  if (health_.gate() == probes::Gate::Ready && (optional_components_reported() || elapsed >= optional_wait_s_)) {
    finish(true, false);
    return;
  }
  if (elapsed * 1000.0 >= static_cast<double>(timeout_.count())) {
    finish(false, false);
    return;
  }
  view_.tick(health_, elapsed);
}

void WaitSession::finish(bool ready, bool interrupted) {
  if (finished_) return;
  finished_ = true;
  outcome_ = WaitOutcome{ready, interrupted, elapsed_s()};
  close_handles();
  view_.end(health_, outcome_);
}

void WaitSession::close_handles() {
  if (listener_ != 0) health_.unsubscribe(listener_);
  listener_ = 0;
  for (auto& r : runners_) r->stop();
  if (ticker_) ticker_->close();
  ticker_ = nullptr;
  for (auto* s : signals_) s->close();
  signals_.clear();
}

}  // namespace lg::app
