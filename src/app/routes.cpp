#include <nlohmann/json.hpp>

#include "app/app.hpp"
#include "app/status_page.hpp"

namespace lg::app {

using http::Request;
using http::Response;

http::HttpServer::Handler make_routes(const probes::HealthState& health, const ReadyzDocument& readyz,
                                      const StatusDocument& status, metrics::Registry& registry) {
  return [&health, &readyz, &status, &registry](const Request& req) -> Response {
    const bool get = req.method == "GET" || req.method == "HEAD";
    auto only_get = [&](auto make) -> Response {
      if (!get) {
        Response r = Response::text(405, "method not allowed\n");
        r.extra_headers = "Allow: GET, HEAD\r\n";
        return r;
      }
      Response r = make();
      r.extra_headers = "Cache-Control: no-store\r\n";
      return r;
    };
    if (req.path == "/livez") return only_get([] { return Response::text(200, "ok\n"); });
    if (req.path == "/readyz") {
      return only_get([&] {
        // Cached, rebuilt only when what it says changed.
        return Response::json_shared(health.gate() == probes::Gate::Ready ? 200 : 503, readyz.json());
      });
    }
    if (req.path == "/status") return only_get([&] { return Response::json(200, status.json()); });
    if (req.path == "/metrics") {
      return only_get([&] {
        Response r;
        r.shared_body = registry.render();  // the registry's buffer, valid until the next scrape
        r.shared = true;
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        return r;
      });
    }
    if (req.path == "/") {
      return only_get([] {
        Response r = Response::text(200, status_page_html());
        r.content_type = "text/html; charset=utf-8";
        return r;
      });
    }
    return Response::text(404, "not found: try /readyz /livez /status /metrics\n");
  };
}

}  // namespace lg::app
