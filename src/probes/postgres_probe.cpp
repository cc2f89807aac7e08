// Postgres probe with Letta's data guard. Each attempt is one PgAttempt: connect and
// authenticate as Letta does (libpq, the operator's DSN), then one round trip that checks
// liveness and the server version, the pgvector extension, Letta's `agents` table through the
// database's own search_path and the live agent count, and the cluster's system identifier
// against a pin. pg_checks.hpp holds the SQL and the verdict; docs/probes.md explains each
// reason_code.
//
// After a success the session is kept (pg_session.hpp) and the next attempts run their query
// on it, until a fresh connection is due (kFreshEveryProbes, kFreshAfter) or an attempt failed:
// then the attempt connects anew, so "a new connection works" stays what the gate checks. A
// kept session that turns out to have ended (lost, or terminated under the query: it died
// before the idle read saw it) is not the server's verdict: it is a passive signal, and the same
// attempt connects anew and that connection's answer counts.
#include <algorithm>
#include <optional>
#include <string>

#include "probes/factories.hpp"
#include "probes/pg_checks.hpp"
#include "probes/pg_attempt.hpp"
#include "probes/pg_session.hpp"

namespace lg::probes {
namespace {

// Why a kept session's round trip shows the session itself ended (the connection lost, or the
// backend's last words: 57P01/57P02 terminated, 57P03, class 08 connection errors), not an
// answer of the server's to the query; nothing when it answered.
std::optional<std::string> session_ended(const pg::PgReply& reply) {
  if (reply.failure) return reply.failure->code.empty() ? "error" : reply.failure->code;
  for (const auto& st : reply.statements)
    if (!st.ok && (st.error.sqlstate.starts_with("57P") || st.error.sqlstate.starts_with("08")))
      return st.error.code.empty() ? "error" : st.error.code;
  return std::nullopt;
}

class PostgresProbe : public Probe {
 public:
  PostgresProbe(uv_loop_t* loop, const config::PostgresSettings& s)
      : loop_(loop), dsn_(s.dsn), target_(s.dsn_redacted), keeper_(std::make_shared<pg::PgSessionKeeper>(loop)) {
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
    done_ = std::move(done);
    run(keeper_->take());
  }

  void cancel() override {
    if (attempt_) attempt_->cancel();  // a session it had is closed with it
    attempt_ = nullptr;
    done_ = nullptr;
  }

  std::string target() const override { return target_; }
  std::unique_ptr<Watch> watch() override { return std::make_unique<pg::PgSessionWatch>(keeper_); }

 private:
  // One round trip on `kept`, or on a new connection when it is nullptr.
  void run(PGconn* kept) {
    auto answered = [this, reused = kept != nullptr](pg::PgReply reply) {
      pg::PgAttempt* attempt = attempt_;  // valid until this returns
      attempt_ = nullptr;
      if (reused) {
        if (auto why = session_ended(reply)) {
          keeper_->lost(why->c_str());  // a passive signal: the runner follows this attempt up quickly
          run(nullptr);
          return;
        }
      }
      Outcome o = pg::evaluate(reply, spec_);
      if (o.ok)
        if (PGconn* conn = attempt->take_connection()) keeper_->keep(conn, !reused);
      auto done = std::move(done_);
      done_ = nullptr;
      if (done) done(std::move(o));
    };
    attempt_ = kept ? pg::PgAttempt::resume(loop_, dsn_, kept, sql_, answered)
                    : pg::PgAttempt::start(loop_, dsn_, sql_, answered);
  }

  uv_loop_t* loop_;
  std::string dsn_;     // holds the password: only ever handed to libpq
  std::string target_;  // redacted
  pg::CheckSpec spec_;
  std::string sql_;
  pg::PgAttempt* attempt_ = nullptr;
  Done done_;
  std::shared_ptr<pg::PgSessionKeeper> keeper_;  // shared with the runner's watch
};

}  // namespace

std::unique_ptr<Probe> make_probe(uv_loop_t* loop, const config::PostgresSettings& s) {
  return std::make_unique<PostgresProbe>(loop, s);
}

}  // namespace lg::probes
