// TEMPORARY until the hiredis probe lands: a TCP connect to Redis.
#include "probes/factories.hpp"

namespace lg::probes {

std::unique_ptr<Probe> make_redis_probe(uv_loop_t* loop, const RedisSettings& s) {
  return make_tcp_probe(loop, HostPort{s.url.host, s.url.port});
}

}  // namespace lg::probes
