#pragma once
// The forwarder's metrics. Families are registered once (ProxyMetrics); each route resolves
// its children up front (RouteMetrics), so the hot path adds to a Counter& it already holds
// and every series exists, at 0, from the start.
#include <string>

#include "metrics/registry.hpp"

namespace lg::proxy {

// Reasons a new client connection is closed without being forwarded.
enum class RejectReason { Limit, Unhealthy, HoldTimeout };
// Why an upstream connection could not be made.
enum class ConnectError { Refused, Timeout, Dns, Unreachable, Other };

const char* to_string(RejectReason r);
const char* to_string(ConnectError e);
// Maps a libuv error from connect() to its label (UV_EAI_* is dns, UV_ETIMEDOUT timeout, ...).
ConnectError classify_connect_error(int status);

struct RouteMetrics {
  metrics::Counter* accepted = nullptr;
  metrics::Gauge* active = nullptr;
  metrics::Counter* rejected[3] = {};        // by RejectReason
  metrics::Counter* connect_errors[5] = {};  // by ConnectError
  metrics::Counter* bytes_upstream = nullptr;    // client -> upstream
  metrics::Counter* bytes_downstream = nullptr;  // upstream -> client
  metrics::Histogram* connect_seconds = nullptr;
  metrics::Histogram* duration_seconds = nullptr;
  metrics::Counter* accept_errors = nullptr;
  metrics::Counter* retries[5] = {};  // by ConnectError: a failed connect retried (client held)
  metrics::Counter* held_served = nullptr;  // clients held (health or retries), then connected

  metrics::Counter& rejected_by(RejectReason r) { return *rejected[static_cast<int>(r)]; }
  metrics::Counter& connect_error(ConnectError e) { return *connect_errors[static_cast<int>(e)]; }
  metrics::Counter& retry(ConnectError e) { return *retries[static_cast<int>(e)]; }
};

class ProxyMetrics {
 public:
  explicit ProxyMetrics(metrics::Registry& registry);
  RouteMetrics for_route(const std::string& route);
  metrics::Gauge& buffered_bytes() { return buffered_.with(); }

 private:
  metrics::Family<metrics::Counter>& accepted_;
  metrics::Family<metrics::Gauge>& active_;
  metrics::Family<metrics::Counter>& rejected_;
  metrics::Family<metrics::Counter>& connect_errors_;
  metrics::Family<metrics::Counter>& bytes_;
  metrics::Family<metrics::Histogram>& connect_seconds_;
  metrics::Family<metrics::Histogram>& duration_;
  metrics::Family<metrics::Counter>& accept_errors_;
  metrics::Family<metrics::Gauge>& buffered_;
  metrics::Family<metrics::Counter>& retries_;
  metrics::Family<metrics::Counter>& held_served_;
};

}  // namespace lg::proxy
