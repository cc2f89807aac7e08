#include "app/components.hpp"

#include <type_traits>

#include "app/letta_database_rule.hpp"
#include "app/upstream_rule.hpp"
#include "probes/factories.hpp"
#include "probes/postgres_dsn.hpp"

namespace lg::app {

std::optional<config::ConfigError> check_probe_settings(const config::Config& config) {
  const auto& pg = config.postgres;
  if (!pg.enabled) return std::nullopt;
  if (auto err = probes::check_postgres_dsn(pg.dsn)) return setting_error(config, "postgres-dsn", *err, pg.dsn);
  return std::nullopt;
}

void add_configured_components(uv_loop_t* loop, const config::Config& config, probes::HealthState& health,
                               probes::ProbeMetrics& metrics,
                               std::vector<std::unique_ptr<probes::ProbeRunner>>& runners) {
  auto add = [&](const std::string& name, const config::ProbeSchedule& schedule, std::unique_ptr<probes::Probe> probe,
                 config::Reports reports) {
    auto& component = health.add(name, schedule.required, probe->target());
    runners.push_back(
        std::make_unique<probes::ProbeRunner>(loop, health, component, schedule, std::move(probe), metrics, reports));
  };
  config::for_each_component([&](const auto& spec) {
    const auto& settings = config.*spec.settings;
    if (!settings.enabled) return;
    auto probe = probes::make_probe(loop, settings);
    // Letta's count against the database's, where both are asked (app/letta_database_rule.hpp).
    if constexpr (std::is_same_v<std::decay_t<decltype(settings)>, config::LettaSettings>)
      if (settings.min_agents > 0 && config.postgres.enabled)
        probe = with_letta_database_rule(std::move(probe), health);
    // nginx's gateway errors while Letta is down are Letta's (app/upstream_rule.hpp).
    if constexpr (std::is_same_v<std::decay_t<decltype(settings)>, config::NginxSettings>)
      if (config.letta.enabled) probe = with_upstream_rule(std::move(probe), health);
    add(std::string(spec.name), settings.schedule, std::move(probe), spec.reports);
    // Redis keeps an idle connection open: its end tells of a crash between probes.
    if constexpr (std::is_same_v<std::decay_t<decltype(settings)>, config::RedisSettings>)
      runners.back()->hold_connection(std::make_unique<probes::TcpWatch>(
          loop, settings.url.host, settings.url.port != 0 ? settings.url.port : uint16_t{6379}));
    // The HTTP servers too, on a keep-alive connection whose idle close is told from a crash.
    if constexpr (std::is_same_v<std::decay_t<decltype(settings)>, config::LettaSettings> ||
                  std::is_same_v<std::decay_t<decltype(settings)>, config::NginxSettings>)
      runners.back()->hold_connection(probes::make_watch(loop, settings));
  });
  for (const auto& t : config.tcp_checks)
    add(t.name, t.schedule, probes::make_probe(loop, t.target), config::Reports{});
}

}  // namespace lg::app
