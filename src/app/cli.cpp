#include "app/cli.hpp"

#include <fmt/format.h>
#include <uv.h>

#include <cstdio>
#include <csignal>

#include "app/app.hpp"
#include "app/components.hpp"
#include "build_info.hpp"
#include "core/log.hpp"

namespace lg::app::cli {
namespace {

constexpr const char* kUsage = R"(lettagate: readiness gate, metrics and letta forwarder for a shared Letta stack

Usage:
  lettagate [serve] [settings]    probe the stack, serve /livez /readyz /status /metrics, forward letta
  lettagate check [--url URL] [--timeout 2s]
                                  GET /readyz once (Docker HEALTHCHECK): exit 0 ready, 1 not, 2 usage
  lettagate wait [settings] [--timeout 2m] [--json]
                                  probe until every component is ready: exit 0 ready, 1 not, 2 config
  lettagate version               print the version
  lettagate help                  this text

Settings (flag, environment variable, default):
)";

int usage_error(const std::string& msg) {
  std::fprintf(stderr, "lettagate: %s\n", msg.c_str());
  return 2;
}

core::log::Level level_of(const std::string& name) { return core::log::level_from_string(name); }

int run_serve(const std::vector<std::string>& args) {
  config::ParseResult parsed = config::parse_config(args);
  if (parsed.help) {
    std::fputs(kUsage, stdout);
    std::fputs(config::config_help().c_str(), stdout);
    return 0;
  }
  if (parsed.error) return usage_error(parsed.error->str());
  config::Config cfg = std::move(*parsed.config);
  if (auto err = app::check_probe_settings(cfg)) return usage_error(err->str());
  core::log::setup(level_of(cfg.log_level),
                   cfg.log_format == "json" ? core::log::Format::Json : core::log::Format::Text);

  uv_loop_t loop;
  uv_loop_init(&loop);
  int code = 0;
  {
    app::App app(&loop, cfg);
    std::string error;
    if (!app.start(&error)) {
      core::log::get("app").error("cannot start: {}", error);
      app.stop();
      code = 1;
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    app.stop();
    uv_run(&loop, UV_RUN_DEFAULT);  // let close callbacks free what stop() closed
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) core::log::get("app").warn("loop closed with handles still open");
  if (code == 0) core::log::get("app").info("stopped");
  return code;
}

}  // namespace

int run(const std::vector<std::string>& args) {
  std::signal(SIGPIPE, SIG_IGN);
  std::string cmd = args.empty() ? "serve" : args[0];
  std::vector<std::string> rest(args.begin() + (args.empty() ? 0 : 1), args.end());
  if (!args.empty() && args[0].rfind("--", 0) == 0) {
    if (args[0] == "--version") cmd = "version";
    else {
      cmd = "serve";
      rest = args;
    }
  }
  if (cmd == "serve") return run_serve(rest);
  if (cmd == "check") return run_check(rest);
  if (cmd == "wait") return run_wait(rest);
  if (cmd == "version") {
    std::printf("lettagate %s (%s)\n", core::build::kVersion, core::build::kRevision);
    return 0;
  }
  if (cmd == "help" || cmd == "-h") {
    std::fputs(kUsage, stdout);
    std::fputs(config::config_help().c_str(), stdout);
    return 0;
  }
  return usage_error(fmt::format("unknown command '{}' (serve, check, wait, version, help)", cmd));
}

}  // namespace lg::app::cli
