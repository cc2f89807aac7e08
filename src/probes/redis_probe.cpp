// Redis probe: AUTH (when a password is set), SELECT (db != 0), PING and INFO over hiredis
// async on the loop; see redis_attempt.hpp for one attempt, redis_reply.hpp for what the
// replies mean, and redis_libuv_adapter.cpp for why we carry our own libuv adapter.
#include "probes/factories.hpp"
#include "probes/redis_attempt.hpp"
#include "probes/redis_reply.hpp"

namespace lg::probes {
namespace {

class RedisProbe : public Probe {
 public:
  RedisProbe(uv_loop_t* loop, const config::RedisSettings& s) : loop_(loop), display_(s.url.redacted()) {
    target_.host = s.url.host;
    target_.port = s.url.port != 0 ? s.url.port : 6379;
    target_.user = s.url.user;
    target_.password = s.password;
    target_.db = s.db;
    allow_replica_ = s.allow_replica;
  }
  ~RedisProbe() override { cancel(); }

  void start(Done done) override {
    // RedisAttempt never calls back from inside start(), so attempt_ is set before any done.
    attempt_ = RedisAttempt::start(loop_, target_, [this, done = std::move(done)](Outcome o) {
      attempt_ = nullptr;  // it frees itself once hiredis lets go of the context
      done(judge_replica(std::move(o), allow_replica_));
    });
  }

  void cancel() override {
    if (attempt_ != nullptr) attempt_->cancel();
    attempt_ = nullptr;
  }

  std::string target() const override { return display_; }

 private:
  uv_loop_t* loop_;
  RedisTarget target_;
  std::string display_;  // the URL with its password redacted
  RedisAttempt* attempt_ = nullptr;
  bool allow_replica_ = false;  // --redis-allow-replica
};

}  // namespace

std::unique_ptr<Probe> make_probe(uv_loop_t* loop, const config::RedisSettings& s) {
  return std::make_unique<RedisProbe>(loop, s);
}

}  // namespace lg::probes
