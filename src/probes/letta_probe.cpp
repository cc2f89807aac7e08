// Letta API probe: GET /v1/health/ (status "ok", version reported), and optionally
// GET /v1/ready/, which answers 503 while Letta is warming up or draining, and with
// --min-agents > 0 Letta's own agent count (GET /v1/agents/count, probes/letta_agent_count.hpp).
#include <fmt/format.h>

#include <memory>

#include "probes/factories.hpp"
#include "probes/http_check.hpp"
#include "probes/letta_agent_count.hpp"

namespace lg::probes {
namespace {

class LettaProbe : public Probe {
 public:
  LettaProbe(uv_loop_t* loop, const config::LettaSettings& s) : settings_(s) {
    HttpCheckSpec health;
    health.host = s.url.host;
    health.port = s.url.port;
    health.method = s.method;
    health.path = s.url.path_to(s.path);
    health.host_header = s.host_header;
    health.bearer_token = s.token;
    health.expect_status = s.expect_status;
    health.expect_body = s.expect_body;
    health.expect_json = s.expect_json;
    health.degraded_after = s.degraded_after;
    health.what = fmt::format("Letta {} {}", s.method, health.path);
    health_ = std::make_unique<HttpCheck>(loop, health);
    if (s.check_ready) {
      HttpCheckSpec ready = health;
      ready.method = "GET";
      ready.path = s.url.path_to("/v1/ready/");
      ready.expect_status = {200};
      ready.expect_body.clear();
      ready.expect_json.clear();
      ready.what = "Letta GET " + ready.path;
      ready_ = std::make_unique<HttpCheck>(loop, ready);
    }
    if (s.min_agents > 0) {
      AgentCountSpec count;
      count.host = s.url.host;
      count.port = s.url.port;
      count.path = s.url.path_to("/v1/agents/count");
      count.host_header = s.host_header;
      count.bearer_token = s.token;
      count.min_agents = s.min_agents;
      count_ = std::make_unique<AgentCountCheck>(loop, count);
    }
  }

  void start(Done done) override {
    health_->start([this, done](Outcome o) {
      if (!o.ok || !ready_) {
        then_count(std::move(o), done);
        return;
      }
      ready_->start([this, health = std::move(o), done](Outcome r) mutable {
        if (!r.ok) {
          // Letta's readiness answers 503 {"status": "warming" | "draining" | ...}.
          r.reason_code = r.http_status == 503 ? "not_ready" : r.reason_code;
          r.facts.fill_from(health.facts);
          done(std::move(r));
          return;
        }
        health.reason += ", ready";
        then_count(std::move(health), done);
      });
    });
  }

  void cancel() override {
    health_->cancel();
    if (ready_) ready_->cancel();
    if (count_) count_->cancel();
  }

  std::string target() const override {
    // The request as sent: the base URL's path joined without a double slash, no query.
    return fmt::format("{} {}://{}{}", settings_.method, settings_.url.scheme, settings_.url.host_port(),
                       health_->spec().path);
  }

 private:
  // After a good health (and ready) answer, Letta's agent count when the data guard asks for
  // it; its verdict wins, the health answer's facts (version) are kept either way.
  void then_count(Outcome health, const Done& done) {
    if (!health.ok || !count_) {
      done(std::move(health));
      return;
    }
    count_->start([health = std::move(health), done](Outcome c) mutable {
      if (!c.ok) {
        c.facts.fill_from(health.facts);
        done(std::move(c));
        return;
      }
      health.reason += ", " + c.reason;
      health.facts.fill_from(c.facts);
      done(std::move(health));
    });
  }

  config::LettaSettings settings_;
  std::unique_ptr<HttpCheck> health_;
  std::unique_ptr<HttpCheck> ready_;
  std::unique_ptr<AgentCountCheck> count_;
};

}  // namespace

std::unique_ptr<Probe> make_probe(uv_loop_t* loop, const config::LettaSettings& s) {
  return std::make_unique<LettaProbe>(loop, s);
}

// GET of the health path (whatever --letta-method says: the answer is not judged, only awaited),
// without the token: health is an open route.
std::unique_ptr<Watch> make_watch(uv_loop_t* loop, const config::LettaSettings& s) {
  const std::string host = s.host_header.empty() ? s.url.host_port() : s.host_header;
  return std::make_unique<HttpWatch>(loop, s.url.host, s.url.port, HttpWatch::get_request(s.url.path_to(s.path), host));
}

}  // namespace lg::probes
