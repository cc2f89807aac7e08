#include "proxy/proxy_metrics.hpp"

#include <uv.h>

namespace lg::proxy {

using metrics::Registry;

const char* to_string(RejectReason r) {
  switch (r) {
    case RejectReason::Limit: return "limit";
    case RejectReason::Unhealthy: return "unhealthy";
    case RejectReason::HoldTimeout: return "hold_timeout";
  }
  return "limit";
}

const char* to_string(ConnectError e) {
  switch (e) {
    case ConnectError::Refused: return "refused";
    case ConnectError::Timeout: return "timeout";
    case ConnectError::Dns: return "dns";
    case ConnectError::Unreachable: return "unreachable";
    case ConnectError::Other: return "other";
  }
  return "other";
}

ConnectError classify_connect_error(int status) {
  switch (status) {
    case UV_ECONNREFUSED:
    case UV_ECONNRESET:  // a listener that resets the handshake refuses too
      return ConnectError::Refused;
    case UV_ETIMEDOUT:
      return ConnectError::Timeout;
    case UV_ENETUNREACH:
    case UV_EHOSTUNREACH:
    case UV_EADDRNOTAVAIL:
    case UV_ENETDOWN:
      return ConnectError::Unreachable;
    default:
      break;
  }
  // UV_EAI_* codes sit in their own range (-3000 .. -3030).
  if (status <= UV_EAI_ADDRFAMILY && status >= -3100) return ConnectError::Dns;
  return ConnectError::Other;
}

namespace {
// Loopback and LAN connects take tens of microseconds: finer low buckets than probe latency.
std::vector<double> connect_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}
}  // namespace

ProxyMetrics::ProxyMetrics(Registry& r)
    : accepted_(r.counter("lettagate_proxy_connections_accepted_total",
                          "Client connections accepted on the route's listener (forwarded or rejected).", {"route"})),
      active_(r.gauge("lettagate_proxy_connections_active",
                      "Client connections open on the route (held, connecting or streaming).", {"route"})),
      rejected_(r.counter("lettagate_proxy_connections_rejected_total",
                          "Client connections closed without being forwarded, by reason (limit, unhealthy, hold_timeout).",
                          {"route", "reason"})),
      connect_errors_(r.counter("lettagate_proxy_upstream_connect_errors_total",
                                "Upstream connections that could not be made, by reason "
                                "(refused, timeout, dns, unreachable, other); the client is closed.",
                                {"route", "reason"})),
      bytes_(r.counter("lettagate_proxy_bytes_total",
                       "Bytes forwarded: direction=upstream is client to upstream, downstream the reverse.",
                       {"route", "direction"})),
      connect_seconds_(r.histogram("lettagate_proxy_upstream_connect_seconds",
                                   "Time to a connected upstream (name lookup included), successful connects only.",
                                   {"route"}, connect_buckets())),
      duration_(r.histogram("lettagate_proxy_connection_duration_seconds",
                            "Lifetime of forwarded client connections, accept to close.", {"route"},
                            Registry::duration_buckets())),
      accept_errors_(r.counter("lettagate_proxy_accept_errors_total",
                               "accept() failures (EMFILE and the like); the listener pauses with a back-off.",
                               {"route"})),
      buffered_(r.gauge("lettagate_proxy_buffered_bytes",
                        "Bytes of proxy buffers held for writes the kernel has not taken yet (all routes).")),
      retries_(r.counter("lettagate_proxy_upstream_connect_retries_total",
                         "Upstream connects that failed before any byte was sent and were retried, the client "
                         "held, by reason (refused, timeout, dns, unreachable, other).",
                         {"route", "reason"})),
      held_served_(r.counter("lettagate_proxy_connections_held_served_total",
                             "Client connections held (waiting for the component, or retrying the upstream "
                             "connect) and then connected.",
                             {"route"})) {}

RouteMetrics ProxyMetrics::for_route(const std::string& route) {
  RouteMetrics m;
  m.accepted = &accepted_.with({route});
  m.active = &active_.with({route});
  for (auto r : {RejectReason::Limit, RejectReason::Unhealthy, RejectReason::HoldTimeout})
    m.rejected[static_cast<int>(r)] = &rejected_.with({route, to_string(r)});
  for (auto e : {ConnectError::Refused, ConnectError::Timeout, ConnectError::Dns, ConnectError::Unreachable,
                 ConnectError::Other})
    m.connect_errors[static_cast<int>(e)] = &connect_errors_.with({route, to_string(e)});
  for (auto e : {ConnectError::Refused, ConnectError::Timeout, ConnectError::Dns, ConnectError::Unreachable,
                 ConnectError::Other})
    m.retries[static_cast<int>(e)] = &retries_.with({route, to_string(e)});
  m.held_served = &held_served_.with({route});
  m.bytes_upstream = &bytes_.with({route, "upstream"});
  m.bytes_downstream = &bytes_.with({route, "downstream"});
  m.connect_seconds = &connect_seconds_.with({route});
  m.duration_seconds = &duration_.with({route});
  m.accept_errors = &accept_errors_.with({route});
  return m;
}

}  // namespace lg::proxy
