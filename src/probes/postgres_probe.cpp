// Postgres probe with Letta's data guard. Each attempt is one PgAttempt: connect and
// authenticate as Letta does (libpq, the operator's DSN), then one round trip that checks
// liveness and the server version, the pgvector extension, Letta's `agents` table through the
// database's own search_path and the live agent count, and the cluster's system identifier
// against a pin. pg_checks.hpp holds the SQL and the verdict; docs/probes.md explains each
// reason_code.
#include <algorithm>

#include "probes/factories.hpp"
#include "probes/pg_checks.hpp"
#include "probes/pg_attempt.hpp"

namespace lg::probes {
namespace {

class PostgresProbe : public Probe {
 public:
  PostgresProbe(uv_loop_t* loop, const config::PostgresSettings& s)
      : loop_(loop), dsn_(s.dsn), target_(s.dsn_redacted) {
    spec_.require_vector = s.require_vector;
    spec_.data_guard = s.data_guard;
    spec_.min_agents = s.min_agents;
    spec_.identity = s.identity;
    // The server cuts a slow or locked query at 3/4 of the probe timeout, so its precise
    // error (statement timeout, lock timeout) arrives before the runner's plain "timeout".
    const auto server_timeout = std::max(s.schedule.timeout * 3 / 4, core::Millis{1});
    sql_ = pg::probe_sql(spec_, server_timeout);
  }
  ~PostgresProbe() override { cancel(); }

  void start(Done done) override {
    attempt_ = pg::PgAttempt::start(loop_, dsn_, sql_, [this, done](pg::PgReply reply) {
      attempt_ = nullptr;
      done(pg::evaluate(reply, spec_));
    });
  }

  void cancel() override {
    if (attempt_) attempt_->cancel();
    attempt_ = nullptr;
  }

  std::string target() const override { return target_; }

 private:
  uv_loop_t* loop_;
  std::string dsn_;     // holds the password: only ever handed to libpq
  std::string target_;  // redacted
  pg::CheckSpec spec_;
  std::string sql_;
  pg::PgAttempt* attempt_ = nullptr;
};

}  // namespace

std::unique_ptr<Probe> make_probe(uv_loop_t* loop, const config::PostgresSettings& s) {
  return std::make_unique<PostgresProbe>(loop, s);
}

}  // namespace lg::probes
