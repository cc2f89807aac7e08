#include "probes/letta_agent_count.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace lg::probes {
namespace {

Outcome with_status(Outcome o, int status) {
  o.http_status = status;
  return o;
}

}  // namespace

Outcome judge_agent_count(const AgentCountSpec& spec, const http::ClientResponse& r) {
  const std::string what = "Letta GET " + spec.path;
  if (r.status == 404) {
    // Letta before the count route: the count is unknown, the component stays as health says.
    Outcome o = Outcome::success("agent count unknown (no " + spec.path + " on this Letta)");
    o.facts.api_agents = kUnknownCount;
    return o;
  }
  if (r.status == 401 || r.status == 403) {
    const char* why = spec.bearer_token.empty()
                          ? "the server has a password (LETTA_SERVER_SECURE): give it as --letta-token"
                          : "--letta-token was refused: it is not the server's password";
    return with_status(Outcome::failure("auth_failed", fmt::format("{} answered HTTP {}: {}", what, r.status, why)),
                       r.status);
  }
  if (r.status != 200) {
    return with_status(Outcome::failure(r.status >= 500 ? "http_5xx" : "http_status",
                                        fmt::format("{} answered HTTP {}", what, r.status)),
                       r.status);
  }
  const nlohmann::json doc = nlohmann::json::parse(r.body, nullptr, false);
  if (doc.is_discarded() || !doc.is_number_integer() || doc.get<long long>() < 0) {
    return with_status(Outcome::failure("bad_body", fmt::format("{}: the body is not a count of agents: {}", what,
                                                                body_snippet(r.body))),
                       r.status);
  }
  const long long n = doc.get<long long>();
  Outcome o = n < spec.min_agents
                  ? Outcome::failure("too_few_agents",
                                     fmt::format("Letta reports {} agents (GET {}), expected at least {}: is letta-server "
                                                 "on a fresh database? (check LETTA_PG_URI)",
                                                 n, spec.path, spec.min_agents))
                  : Outcome::success(fmt::format("{} agents", n));
  o.http_status = r.status;
  o.facts.api_agents = n;
  return o;
}

void AgentCountCheck::start(Done done) {
  get_.start(
      spec_, [this, done](const http::ClientResponse& r) { done(judge_agent_count(spec_, r)); },
      [this, done](const http::ClientError& e) {
        done(Outcome::failure(e.code, fmt::format("Letta GET {}: {}", spec_.path, e.message)));
      });
}

}  // namespace lg::probes
