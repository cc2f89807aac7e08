// TCP probe: a plain connect, for anything without a protocol check of its own.
#include <fmt/format.h>

#include "core/log.hpp"
#include "http/http_client.hpp"
#include "probes/factories.hpp"
#include "probes/tcp_connect.hpp"

namespace lg::probes {
namespace {

class TcpProbe : public Probe {
 public:
  TcpProbe(uv_loop_t* loop, HostPort target) : loop_(loop), target_(std::move(target)) {}
  ~TcpProbe() override { cancel(); }

  void start(Done done) override {
    finished_ = false;
    auto* attempt = TcpConnect::start(loop_, target_.host, target_.port, [this, done](int status, uv_tcp_t*) {
      finished_ = true;
      attempt_ = nullptr;
      if (status == 0) {
        done(Outcome::success(fmt::format("connected to {}", target_.str())));
        return;
      }
      auto e = http::client_error_from_uv(status, "connecting to " + target_.str());
      done(Outcome::failure(e.code, e.message));
    });
    if (!finished_) attempt_ = attempt;  // a synchronous failure has already freed it
  }

  void cancel() override {
    if (attempt_) attempt_->cancel();
    attempt_ = nullptr;
  }

  std::string target() const override { return "tcp://" + target_.str(); }

 private:
  uv_loop_t* loop_;
  HostPort target_;
  TcpConnect* attempt_ = nullptr;
  bool finished_ = false;
};

}  // namespace

std::unique_ptr<Probe> make_probe(uv_loop_t* loop, const HostPort& target) {
  return std::make_unique<TcpProbe>(loop, target);
}

}  // namespace lg::probes
