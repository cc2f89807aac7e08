// `lettagate wait`: the pre-flight that replaces a `check-letta.sh` before `make dev`. It takes
// the settings of `serve`, probes the stack with the same probes until every required component
// is up or --timeout passes, and exits 0 ready, 1 not ready (or interrupted), 2 bad config.
#include <fmt/format.h>
#include <uv.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>

#include "app/cli.hpp"
#include "app/components.hpp"
#include "app/wait_session.hpp"
#include "app/wait_view.hpp"
#include "config/config.hpp"
#include "core/log.hpp"
#include "core/timer.hpp"

namespace lg::app::cli {
namespace {

constexpr const char* kWaitUsage = R"(Usage: lettagate wait [settings] [--timeout 2m] [--json | --quiet]

Probes the stack with the same checks as `serve` (no HTTP server, no forwarder) until every
required component is up, then exits 0; after --timeout, or on Ctrl-C, exits 1; a bad setting
exits 2. Optional components (--NAME-required=false) may be down: still ready, shown degraded.

  --timeout DURATION   total time to wait [default: 2m]
  --json               print one JSON document at the end (status, elapsed_ms, components)
  --quiet, -q          print nothing; the exit code says it all

On a terminal the table updates in place; otherwise one line per state change and a summary.
A component is up after its first success (rise 1) unless --probe-rise/--NAME-rise is set.
Logs go to stderr at warn (error under the live table) unless --log-level is set.

Settings (flag, environment variable, default), as for serve:
)";

struct WaitFlags {
  core::Millis timeout{120000};
  bool json = false;
  bool quiet = false;
  bool help = false;
  std::vector<std::string> settings;  // everything else, for parse_config
};

// Takes wait's own flags out of `args`; the rest are settings. Returns an error message.
std::optional<std::string> split_flags(const std::vector<std::string>& args, WaitFlags& f) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--json") f.json = true;
    else if (a == "--quiet" || a == "-q") f.quiet = true;
    else if (a == "--help" || a == "-h") f.help = true;
    else if (a == "--timeout" || a.rfind("--timeout=", 0) == 0) {
      std::string v;
      if (a != "--timeout") v = a.substr(10);
      else if (i + 1 < args.size()) v = args[++i];
      else return std::string("invalid --timeout: needs a value (e.g. 2m)");
      std::string why;
      auto d = core::parse_duration(v, &why);
      if (!d) return fmt::format("invalid --timeout: '{}' is not a duration: {}", v, why);
      if (d->count() <= 0) return fmt::format("invalid --timeout: '{}' must be above 0", v);
      f.timeout = *d;
    } else {
      f.settings.push_back(a);
    }
  }
  if (f.json && f.quiet) return std::string("--json and --quiet exclude each other");
  return std::nullopt;
}

// rise = 1 unless set: `wait` answers "is the stack usable now?" once, so one success after a
// failure is enough; rise/fall damping is for a long-running gate that must not flap. Config::given
// holds the settings the user chose (flag or LETTAGATE_* variable), whatever their value.
void single_success_is_enough(config::Config& cfg) {
  if (cfg.given.count("probe-rise")) return;
  config::for_each_component([&](const auto& spec) {
    if (!cfg.given.count(std::string(spec.name) + "-rise")) (cfg.*spec.settings).schedule.rise = 1;
  });
  for (auto& t : cfg.tcp_checks) t.schedule.rise = 1;
}

// The plain view and the live table print every state change on stdout; the probe runners log
// the same change (a warning when down) on stderr. Said once is enough: the runners' loggers
// (named for their components) keep only errors, other loggers stay at the level chosen.
void quiet_state_changes(const config::Config& cfg) {
  config::for_each_component(
      [&](const auto& spec) { core::log::set_component_level(std::string(spec.name), core::log::Level::Error); });
  for (const auto& t : cfg.tcp_checks) core::log::set_component_level(t.name, core::log::Level::Error);
}

std::unique_ptr<app::WaitView> make_view(const WaitFlags& f, bool live) {
  if (f.quiet) return app::make_quiet_view();
  if (f.json) return app::make_json_view(stdout, f.timeout);
  if (live) return app::make_live_view(stdout, std::getenv("NO_COLOR") == nullptr);
  return app::make_plain_view(stdout);
}

// Lets close callbacks run; a handle a probe failed to close must not hang the pre-flight,
// so this gives up after two seconds. Returns whether the loop emptied.
bool drain_loop(uv_loop_t* loop) {
  bool gave_up = false;
  core::Timer* guard = core::Timer::create(loop, [loop, &gave_up] {
    gave_up = true;
    uv_stop(loop);
  });
  guard->start(core::Millis{2000});
  guard->unref();  // only the other handles keep the loop running
  uv_run(loop, UV_RUN_DEFAULT);
  guard->close();
  uv_run(loop, UV_RUN_NOWAIT);
  return !gave_up && !uv_loop_alive(loop);
}

}  // namespace

int run_wait(const std::vector<std::string>& args) {
  WaitFlags flags;
  if (auto err = split_flags(args, flags)) {
    std::fprintf(stderr, "lettagate wait: %s\n", err->c_str());
    return 2;
  }
  if (flags.help) {
    std::fputs(kWaitUsage, stdout);
    std::fputs(config::config_help().c_str(), stdout);
    return 0;
  }
  config::ParseResult parsed = config::parse_config(flags.settings);
  if (parsed.error) {
    std::fprintf(stderr, "lettagate wait: %s\n", parsed.error->str().c_str());
    return 2;
  }
  config::Config cfg = std::move(*parsed.config);
  if (auto err = app::check_probe_settings(cfg)) {
    std::fprintf(stderr, "lettagate wait: %s\n", err->str().c_str());
    return 2;
  }
  single_success_is_enough(cfg);

  const bool live = !flags.json && !flags.quiet && isatty(STDOUT_FILENO) == 1;
  std::string level = cfg.log_level;
  if (!cfg.given.count("log-level")) {
    // The live table shows every state change already; a warning on the same terminal would
    // scroll it and break the in-place redraw.
    level = live && isatty(STDERR_FILENO) == 1 ? "error" : "warn";
  }
  core::log::setup(core::log::level_from_string(level),
                   cfg.log_format == "json" ? core::log::Format::Json : core::log::Format::Text);
  if (!flags.json && !flags.quiet && !cfg.given.count("log-level")) quiet_state_changes(cfg);

  auto view = make_view(flags, live);
  uv_loop_t loop;
  uv_loop_init(&loop);
  app::WaitOutcome outcome;
  {
    app::WaitSession session(&loop, cfg, flags.timeout, *view);
    session.start();
    while (!session.finished()) uv_run(&loop, UV_RUN_ONCE);
    outcome = session.outcome();
  }
  if (drain_loop(&loop)) uv_loop_close(&loop);
  else core::log::get("wait").debug("left handles open at exit");
  return outcome.ready ? 0 : 1;
}

}  // namespace lg::app::cli
