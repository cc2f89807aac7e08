#include "probes/http_check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/clock.hpp"

namespace lg::probes {
namespace {

std::string json_scalar(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

}  // namespace

Outcome judge_http_response(const HttpCheckSpec& spec, const http::ClientResponse& r) {
  Outcome o;
  o.http_status = r.status;
  const bool accepted = std::find(spec.expect_status.begin(), spec.expect_status.end(), r.status) != spec.expect_status.end();
  if (!accepted && r.status >= 300 && r.status < 400) {
    const std::string* loc = http::find_header(r.headers, "location");
    return [&] {
      Outcome f = Outcome::failure("redirect", fmt::format("{} answered {} redirect to {}: probe the final path "
                                                           "(e.g. with the trailing slash), a redirect is not health",
                                                           spec.what, r.status, loc ? *loc : "?"));
      f.http_status = r.status;
      return f;
    }();
  }
  if (!accepted) {
    // Letta's 503s carry {"status": "warming" | "draining" | ...}: say which.
    nlohmann::json err = nlohmann::json::parse(r.body, nullptr, false);
    std::string detail;
    if (!err.is_discarded() && err.is_object() && err.contains("status"))
      detail = fmt::format(" (status \"{}\")", json_scalar(err["status"]));
    Outcome f = Outcome::failure(r.status >= 500 ? "http_5xx" : "http_status",
                                 fmt::format("{} answered HTTP {}{}", spec.what, r.status, detail));
    f.http_status = r.status;
    return f;
  }
  if (!spec.expect_body.empty() && r.body.find(spec.expect_body) == std::string::npos) {
    Outcome f = Outcome::failure("bad_body", fmt::format("{} body lacks \"{}\": {}", spec.what, spec.expect_body,
                                                         body_snippet(r.body)));
    f.http_status = r.status;
    return f;
  }
  nlohmann::json doc = nlohmann::json::parse(r.body, nullptr, false);
  if (!doc.is_discarded() && doc.is_object() && doc.contains("version") && doc["version"].is_string())
    o.facts.version = doc["version"].get<std::string>();
  if (!spec.expect_json.empty()) {
    auto eq = spec.expect_json.find('=');
    std::string field = spec.expect_json.substr(0, eq), want = spec.expect_json.substr(eq + 1);
    std::string problem;
    if (doc.is_discarded() || !doc.is_object()) problem = fmt::format("body is not a JSON object: {}", body_snippet(r.body));
    else if (!doc.contains(field)) problem = fmt::format("JSON has no \"{}\" field", field);
    else if (json_scalar(doc[field]) != want)
      problem = fmt::format("\"{}\" is \"{}\", expected \"{}\"", field, json_scalar(doc[field]), want);
    if (!problem.empty()) {
      Outcome f = Outcome::failure("bad_body", fmt::format("{}: {}", spec.what, problem));
      f.http_status = r.status;
      f.facts = o.facts;
      return f;
    }
  }
  o.ok = true;
  o.reason_code = "ok";
  o.reason = o.facts.version ? fmt::format("HTTP {} (version {})", r.status, *o.facts.version)
                                     : fmt::format("HTTP {}", r.status);
  return o;
}

void HttpCheck::start(Done done) {
  started_ = core::mono_seconds();
  get_.start(
      spec_, [this, done](const http::ClientResponse& r) { judge(r, done); },
      [this, done](const http::ClientError& e) {
        done(Outcome::failure(e.code, fmt::format("{}: {}", spec_.what, e.message)));
      });
}

void HttpCheck::judge(const http::ClientResponse& r, const Done& done) const {
  Outcome o = judge_http_response(spec_, r);
  const double latency = core::mono_seconds() - started_;
  if (o.ok && spec_.degraded_after.count() > 0 && latency * 1000.0 > static_cast<double>(spec_.degraded_after.count())) {
    o.degraded = true;
    o.reason = fmt::format("{} slow: {:.0f} ms, above {} ({})", spec_.what, latency * 1000.0,
                           core::format_duration(spec_.degraded_after), o.reason);
  }
  done(std::move(o));
}

}  // namespace lg::probes
