#pragma once
// Letta's own agent count, GET /v1/agents/count: the data guard as Letta sees it. Letta answers
// a bare JSON integer, the agents of one actor (the default user's organisation, or the user_id
// header's), so a letta-server started without LETTA_PG_URI, on a fresh database of its own,
// answers 0 while letta-postgres still holds every agent. Asked after a good health answer when
// --min-agents > 0 (the setting it shares with the postgres probe).
#include <uv.h>

#include <functional>
#include <string>

#include "http/http_attempt.hpp"
#include "probes/json_get.hpp"
#include "probes/outcome.hpp"

namespace lg::probes {

// Where to ask (the bearer token is --letta-token), and the least count that is no failure.
struct AgentCountSpec : JsonGetTarget {
  AgentCountSpec() { path = "/v1/agents/count"; }
  int min_agents = 0;
};

// Judges the count's answer (pure: tested without sockets). ok with facts.api_agents = N (or
// kUnknownCount on a 404: a Letta older than the route is no failure; not facts.agents: that
// fact is the database's, which the letta_agents gauge reads); too_few_agents below
// min_agents; auth_failed on 401/403; bad_body when the body is not a whole number.
Outcome judge_agent_count(const AgentCountSpec& spec, const http::ClientResponse& response);

class AgentCountCheck {
 public:
  using Done = std::function<void(Outcome)>;
  AgentCountCheck(uv_loop_t* loop, AgentCountSpec spec) : spec_(std::move(spec)), get_(loop) {}
  void start(Done done);
  void cancel() { get_.cancel(); }

 private:
  AgentCountSpec spec_;
  JsonGet get_;
};

}  // namespace lg::probes
