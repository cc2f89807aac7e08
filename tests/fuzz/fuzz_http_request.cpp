// The health server's request path: bytes in any split through RequestParser, and every
// complete request through the real routes (with a live health state and registry).
#include <cstddef>
#include <cstdint>
#include <string>

#include "app/app.hpp"
#include "http/request_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static lg::probes::HealthState health;
  static lg::metrics::Registry registry;
  static const lg::app::ReadyzDocument readyz(health);
  static const lg::app::StatusDocument status(health);
  static auto handler = lg::app::make_routes(health, readyz, status, registry);
  if (size == 0) return 0;
  // The first byte picks where the stream is split, as TCP may deliver it.
  size_t cut = 1 + data[0] % size;
  lg::http::RequestParser parser({1024, 4096}, [] {}, [](const lg::http::Request& r) {
    auto res = handler(r);
    return res.status != 0 && r.keep_alive;
  });
  const char* bytes = reinterpret_cast<const char*>(data + 1);
  size_t n = size - 1;
  if (cut > n) cut = n;
  if (parser.feed(bytes, cut) == lg::http::RequestParser::Result::Ok) parser.feed(bytes + cut, n - cut);
  (void)parser.error_reason();
  return 0;
}
