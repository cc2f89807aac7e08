#include "probes/held_connection.hpp"

#include "probes/probe.hpp"

namespace lg::probes {

std::unique_ptr<Watch> Probe::watch() { return nullptr; }

HeldConnection* HeldConnection::open(uv_loop_t* loop, const std::string& host, uint16_t port, Ended ended) {
  auto* c = new HeldConnection(loop, std::move(ended));
  c->dns_ = core::DnsQuery::start(loop, host, port, [c](int status, const core::Addresses& addresses) {
    c->dns_ = nullptr;
    if (status != 0) {
      c->finish(nullptr);
      return;
    }
    c->connector_.start(addresses, core::Millis{5000});  // a black hole must not hold it forever
  });
  return c;
}

void HeldConnection::on_connected() {
  uv_tcp_keepalive(socket_.get(), 1, 60);  // a vanished host (no FIN, no RST) is noticed too
  if (uv_read_start(socket_.stream(), on_alloc, on_read) != 0) finish(nullptr);
}

void HeldConnection::on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* self = static_cast<HeldConnection*>(handle->data);
  *buf = uv_buf_init(self->buf_, sizeof self->buf_);
}

// Bytes from an idle server are dropped; its end is the news.
void HeldConnection::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t*) {
  if (nread >= 0) return;
  auto* self = static_cast<HeldConnection*>(stream->data);
  self->finish(nread == UV_EOF ? "eof" : nread == UV_ECONNRESET ? "reset" : "error");
}

void HeldConnection::finish(const char* reason) {
  auto ended = std::move(ended_);
  ended_ = nullptr;
  core::HandleGroup::Keep keep(group_);  // `ended` runs before the object may go
  end();
  if (ended) ended(reason);
}

void HeldConnection::close() {
  ended_ = nullptr;
  end();
}

void HeldConnection::end() {
  if (dns_) dns_->cancel();
  dns_ = nullptr;
  connector_.cancel();
  socket_.close();
  group_.close();
}

TcpWatch::~TcpWatch() {
  if (conn_) conn_->close();
}

void TcpWatch::ensure(Lost lost) {
  if (conn_) return;
  conn_ = HeldConnection::open(loop_, host_, port_, [this, lost = std::move(lost)](const char* reason) {
    conn_ = nullptr;
    if (reason) lost(reason);
  });
}

}  // namespace lg::probes
