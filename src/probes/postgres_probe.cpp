// TEMPORARY until the libpq probe lands: a TCP connect to the DSN's host and port.
#include <libpq-fe.h>

#include "probes/factories.hpp"

namespace lg::probes {

std::unique_ptr<Probe> make_postgres_probe(uv_loop_t* loop, const PostgresSettings& s) {
  HostPort hp{"127.0.0.1", 5432};
  if (PQconninfoOption* opts = PQconninfoParse(s.dsn.c_str(), nullptr)) {
    for (auto* o = opts; o->keyword; ++o) {
      if (!o->val) continue;
      if (std::string(o->keyword) == "host") hp.host = o->val;
      if (std::string(o->keyword) == "port") hp.port = static_cast<uint16_t>(std::stoi(o->val));
    }
    PQconninfoFree(opts);
  }
  return make_tcp_probe(loop, hp);
}

}  // namespace lg::probes
