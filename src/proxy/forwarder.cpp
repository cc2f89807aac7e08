// PLACEHOLDER: replaced by the real forwarder (routes, sessions, resolver) in src/proxy/.
#include "proxy/forwarder.hpp"

#include <nlohmann/json.hpp>

namespace lg::proxy {

class Route {};

Forwarder::Forwarder(uv_loop_t*, const ForwardSettings&, probes::HealthState&, metrics::Registry&) {}
Forwarder::~Forwarder() = default;
bool Forwarder::start(std::string*) { return true; }
void Forwarder::stop_accepting() {}
size_t Forwarder::active_sessions() const { return 0; }
void Forwarder::close_all() {}
std::vector<int> Forwarder::ports() const { return {}; }
void Forwarder::describe(nlohmann::json&) const {}

}  // namespace lg::proxy
