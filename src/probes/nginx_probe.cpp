// TEMPORARY until the nginx + SSE probe lands: a TCP connect to nginx.
#include "probes/factories.hpp"

namespace lg::probes {

std::unique_ptr<Probe> make_nginx_probe(uv_loop_t* loop, const NginxSettings& s) {
  return make_tcp_probe(loop, HostPort{s.url.host, s.url.port});
}

}  // namespace lg::probes
