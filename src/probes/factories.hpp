#pragma once
// One factory per protocol probe, each defined in the probe's own file.
#include <uv.h>

#include <memory>

#include "config/config.hpp"
#include "probes/probe.hpp"

namespace lg::probes {

std::unique_ptr<Probe> make_letta_probe(uv_loop_t* loop, const LettaSettings& s);
std::unique_ptr<Probe> make_postgres_probe(uv_loop_t* loop, const PostgresSettings& s);
std::unique_ptr<Probe> make_redis_probe(uv_loop_t* loop, const RedisSettings& s);
std::unique_ptr<Probe> make_nginx_probe(uv_loop_t* loop, const NginxSettings& s);
std::unique_ptr<Probe> make_tcp_probe(uv_loop_t* loop, const HostPort& target);

}  // namespace lg::probes
