#include "app/app.hpp"

#include <nlohmann/json.hpp>

#include <csignal>

#include "app/components.hpp"
#include "app/fd_budget.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "metrics/process_metrics.hpp"
#include "probes/factories.hpp"

namespace lg::app {

App::App(uv_loop_t* loop, config::Config config) : loop_(loop), config_(std::move(config)) {
  metrics::register_process_metrics(registry_);
  metrics::register_build_info(registry_);
  probe_metrics_ = std::make_unique<probes::ProbeMetrics>(registry_, health_);
}

App::~App() { stop(); }

bool App::start(std::string* error) {
  const auto& c = config_;
  add_configured_components(loop_, c, health_, *probe_metrics_, runners_);
  apply_fd_budget();  // may lower the caps in config_ (c) before the listeners use them

  status_.add_section([this](nlohmann::json& j) { j["config"] = describe_config(config_); });

  http::HttpServer::Options opts;
  opts.max_header_bytes = c.server.max_header_bytes;
  opts.header_timeout = c.server.header_timeout;
  opts.keepalive_timeout = c.server.keepalive_timeout;
  opts.max_connections = c.server.max_connections;
  server_ = std::make_unique<http::HttpServer>(loop_, opts, make_routes(health_, readyz_, status_, registry_), &registry_);
  if (server_->listen(c.server.listen, error) != 0) return false;

  forwarder_ = std::make_unique<proxy::Forwarder>(loop_, c.forward, health_, registry_);
  if (!forwarder_->start(error)) return false;
  status_.add_section([this](nlohmann::json& j) { forwarder_->describe(j); });

  for (auto& r : runners_) r->start();
  watch_signals();
  core::log::get("app").info("lettagate serving on {} ({})", c.server.listen.str(), describe_config(c));
  return true;
}

// Descriptors for the probes and the health server first, the forwarder's cap from the rest
// (app/fd_budget.hpp), after raising the soft limit to the hard one.
void App::apply_fd_budget() {
  FdBudgetInput in;
  uint64_t before = 0, hard = 0;
  in.limit = raise_nofile_limit(&before, &hard);
  const int open = count_open_fds();
  in.in_use = open >= 0 ? open : 16;  // no /proc: a generous guess
  in.routes = static_cast<int>(config_.forward.routes.size());
  in.probes = static_cast<int>(runners_.size());
  in.health_cap = config_.server.max_connections;
  in.forward_cap = config_.forward.max_connections;
  const FdBudget b = plan_fd_budget(in);
  config_.server.max_connections = b.health_cap;
  config_.forward.max_connections = b.forward_cap;
  const std::string line = describe(b, in, before, hard);
  if (b.too_small || b.health_lowered || b.forward_lowered) core::log::get("app").warn("{}", line);
  else core::log::get("app").info("{}", line);
}

void App::watch_signals() {
  std::signal(SIGPIPE, SIG_IGN);
  for (int signum : {SIGTERM, SIGINT}) {
    signals_.push_back(core::Signal::create(loop_, signum, [this](int sig) {
      if (draining_) {
        core::log::get("app").warn("second {} received: stopping now", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        stop();
        return;
      }
      core::log::get("app").info("{} received: draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      drain();
    }));
  }
}

void App::drain() {
  if (draining_ || stopped_) return;
  draining_ = true;
  health_.set_draining();
  drain_started_ = core::mono_seconds();
  if (forwarder_) {
    const size_t before = forwarder_->active_sessions();
    forwarder_->drain();
    const size_t left = forwarder_->active_sessions();
    core::log::get("app").info("drain: closed {} idle forwarded connection(s); waiting for {} (at most {})",
                               before - left, left, core::format_duration(config_.drain_timeout));
  }
  drain_timer_ = core::Timer::create(loop_, [this] { on_drain_tick(); });
  drain_timer_->start(core::Millis{0}, core::Millis{50});
}

void App::on_drain_tick() {
  const size_t open = forwarder_ ? forwarder_->active_sessions() : 0;
  const double elapsed_ms = (core::mono_seconds() - drain_started_) * 1000.0;
  if (open == 0) {
    core::log::get("app").info("drained: no connections left");
    stop();
  } else if (elapsed_ms >= static_cast<double>(config_.drain_timeout.count())) {
    core::log::get("app").warn("drain timeout ({}) reached: closing {} open connection(s)",
                               core::format_duration(config_.drain_timeout), open);
    stop();
  }
}

void App::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (drain_timer_) drain_timer_->close();
  drain_timer_ = nullptr;
  for (auto& r : runners_) r->stop();
  if (server_) server_->close_all();
  if (forwarder_) forwarder_->close_all();
  for (auto* s : signals_) s->close();
  signals_.clear();
}

}  // namespace lg::app
