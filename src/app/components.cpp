#include "app/components.hpp"

#include "probes/factories.hpp"
#include "probes/postgres_dsn.hpp"

namespace lg::app {

std::optional<ConfigError> check_probe_settings(const Config& config) {
  const auto& pg = config.postgres;
  if (!pg.enabled) return std::nullopt;
  if (auto err = probes::check_postgres_dsn(pg.dsn)) return setting_error(config, "postgres-dsn", *err, pg.dsn);
  return std::nullopt;
}

void add_configured_components(uv_loop_t* loop, const Config& config, probes::HealthState& health,
                               probes::ProbeMetrics& metrics,
                               std::vector<std::unique_ptr<probes::ProbeRunner>>& runners) {
  // `http` says whether probe_http_status_code applies to the component.
  auto add = [&](const std::string& name, const ProbeSchedule& schedule, std::unique_ptr<probes::Probe> probe,
                 bool http) {
    auto& component = health.add(name, schedule.required, probe->target());
    runners.push_back(
        std::make_unique<probes::ProbeRunner>(loop, health, component, schedule, std::move(probe), metrics, http));
  };
  const auto& c = config;
  if (c.letta.enabled) add("letta", c.letta.schedule, probes::make_letta_probe(loop, c.letta), true);
  if (c.postgres.enabled) add("postgres", c.postgres.schedule, probes::make_postgres_probe(loop, c.postgres), false);
  if (c.redis.enabled) add("redis", c.redis.schedule, probes::make_redis_probe(loop, c.redis), false);
  if (c.nginx.enabled) add("nginx", c.nginx.schedule, probes::make_nginx_probe(loop, c.nginx), true);
  for (const auto& t : c.tcp_checks) add(t.name, t.schedule, probes::make_tcp_probe(loop, t.target), false);
}

}  // namespace lg::app
