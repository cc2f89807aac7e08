// TCP probe: a plain connect, for anything without a protocol check of its own.
#include <fmt/format.h>

#include "http/http_attempt.hpp"
#include "probes/factories.hpp"
#include "probes/tcp_attempt.hpp"

namespace lg::probes {
namespace {

class TcpProbe : public Probe {
 public:
  TcpProbe(uv_loop_t* loop, core::HostPort target) : loop_(loop), target_(std::move(target)) {}
  ~TcpProbe() override { cancel(); }

  void start(Done done) override {
    // TcpAttempt never calls back from inside start(), so attempt_ is set before any done.
    attempt_ = TcpAttempt::start(loop_, target_.host, target_.port, [this, done](int status) {
      attempt_ = nullptr;
      if (status == 0) {
        done(Outcome::success(fmt::format("connected to {}", target_.str())));
        return;
      }
      auto e = http::client_error_from_uv(status, "connecting to " + target_.str());
      done(Outcome::failure(e.code, e.message));
    });
  }

  void cancel() override {
    if (attempt_) attempt_->cancel();
    attempt_ = nullptr;
  }

  std::string target() const override { return "tcp://" + target_.str(); }

 private:
  uv_loop_t* loop_;
  core::HostPort target_;
  TcpAttempt* attempt_ = nullptr;
};

}  // namespace

std::unique_ptr<Probe> make_probe(uv_loop_t* loop, const core::HostPort& target) {
  return std::make_unique<TcpProbe>(loop, target);
}

}  // namespace lg::probes
