#pragma once
// One probe factory per component, overloaded on the component's settings (config/components.hpp)
// and defined in the probe's own file: the wiring (app/components.cpp) makes every listed
// component's probe with make_probe(loop, settings).
#include <uv.h>

#include <memory>

#include "config/config.hpp"
#include "core/host_port.hpp"
#include "probes/held_connection.hpp"
#include "probes/probe.hpp"

namespace lg::probes {

std::unique_ptr<Probe> make_probe(uv_loop_t* loop, const config::LettaSettings& s);
std::unique_ptr<Probe> make_probe(uv_loop_t* loop, const config::PostgresSettings& s);
std::unique_ptr<Probe> make_probe(uv_loop_t* loop, const config::RedisSettings& s);
std::unique_ptr<Probe> make_probe(uv_loop_t* loop, const config::NginxSettings& s);
std::unique_ptr<Probe> make_probe(uv_loop_t* loop, const core::HostPort& target);  // --tcp-check

// The HTTP servers' held keep-alive connections (held_connection.hpp): a GET of the probe's path.
std::unique_ptr<Watch> make_watch(uv_loop_t* loop, const config::LettaSettings& s);
std::unique_ptr<Watch> make_watch(uv_loop_t* loop, const config::NginxSettings& s);

}  // namespace lg::probes
