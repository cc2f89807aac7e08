#include "probes/letta_agent_count.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace lg::probes {
namespace {

std::string snippet(const std::string& body) {
  std::string s = body.substr(0, 60);
  std::replace_if(s.begin(), s.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return body.size() > 60 ? s + "..." : s;
}

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
                                                                snippet(r.body))),
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
  http::ClientRequest req;
  req.host = spec_.host;
  req.port = spec_.port;
  req.target = spec_.path;
  req.host_header = spec_.host_header;
  req.headers.emplace_back("Accept", "application/json");
  if (!spec_.bearer_token.empty()) req.headers.emplace_back("Authorization", "Bearer " + spec_.bearer_token);
  http::HttpAttempt::Handlers h;
  h.on_complete = [this, done](http::ClientResponse r) {
    attempt_ = nullptr;
    done(judge_agent_count(spec_, r));
  };
  h.on_error = [this, done](http::ClientError e) {
    attempt_ = nullptr;
    done(Outcome::failure(e.code, fmt::format("Letta GET {}: {}", spec_.path, e.message)));
  };
  attempt_ = http::HttpAttempt::start(loop_, std::move(req), std::move(h));
}

void AgentCountCheck::cancel() {
  if (attempt_) attempt_->cancel();
  attempt_ = nullptr;
}

}  // namespace lg::probes
