#include "probes/tcp_attempt.hpp"

namespace lg::probes {

TcpAttempt* TcpAttempt::start(uv_loop_t* loop, const std::string& host, uint16_t port, Callback cb) {
  auto* a = new TcpAttempt(loop, std::move(cb));
  // The query answers later, even for an IP literal: `cb` never runs inside start().
  a->dns_ = core::DnsQuery::start(loop, host, port, [a](int status, const core::Addresses& addresses) {
    a->dns_ = nullptr;
    if (status != 0) {
      a->finish(status);
      return;
    }
    a->connector_.start(addresses, core::Millis{0});  // the runner's timeout covers the attempt
  });
  return a;
}

void TcpAttempt::finish(int status) {
  auto cb = std::move(cb_);
  cb_ = nullptr;
  core::HandleGroup::Keep keep(group_);  // `cb` runs before the attempt may go
  end();
  if (cb) cb(status);
}

void TcpAttempt::cancel() {
  cb_ = nullptr;
  end();
}

void TcpAttempt::end() {
  if (dns_) dns_->cancel();
  dns_ = nullptr;
  connector_.cancel();
  socket_.close();
  group_.close();
}

}  // namespace lg::probes
