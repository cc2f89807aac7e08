#include "probes/held_connection.hpp"

#include <fmt/format.h>

#include <cstring>

#include "probes/probe.hpp"

namespace lg::probes {

std::unique_ptr<Watch> Probe::watch() { return nullptr; }

namespace {
// A close sooner than this after the answer is quick: a crash just after a check, or a server
// without keep-alive. More than kMaxQuickCloses in a row are the latter: reopening at once would be
// a loop, so the next success of the probe reopens it.
constexpr int64_t kQuickCloseMs = 1000;
constexpr int kMaxQuickCloses = 3;
}  // namespace

HeldConnection::HeldConnection(uv_loop_t* loop, Ended ended, std::string request)
    : connector_(loop, group_, socket_, this, *this), ended_(std::move(ended)), loop_(loop), request_(std::move(request)) {
  write_req_.data = this;
}

HeldConnection* HeldConnection::open(uv_loop_t* loop, const std::string& host, uint16_t port, Ended ended,
                                     std::string request) {
  auto* c = new HeldConnection(loop, std::move(ended), std::move(request));
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
  if (!request_.empty()) {
    parser_ = std::make_unique<http::ResponseParser>(http::ResponseParser::Limits{}, false);
    uv_buf_t b = uv_buf_init(request_.data(), static_cast<unsigned>(request_.size()));
    if (uv_write(&write_req_, socket_.stream(), &b, 1, on_write) != 0) {
      finish("error");  // no callback will come
      return;
    }
  }
  if (uv_read_start(socket_.stream(), on_alloc, on_read) != 0) finish(nullptr);
}

void HeldConnection::on_write(uv_write_t* req, int status) {
  auto* self = static_cast<HeldConnection*>(req->data);
  if (status < 0 && status != UV_ECANCELED && self->ended_) self->finish(status == UV_ECONNRESET ? "reset" : "error");
}

void HeldConnection::on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* self = static_cast<HeldConnection*>(handle->data);
  *buf = uv_buf_init(self->buf_, sizeof self->buf_);
}

// The answer to the request is parsed (to know when it ended); anything else is dropped. The
// connection's end is the news.
void HeldConnection::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<HeldConnection*>(stream->data);
  if (nread > 0) self->read(buf->base, static_cast<size_t>(nread));
  if (nread >= 0 || !self->ended_) return;
  if (nread == UV_EOF && self->parser_ && self->parser_->finish() == http::ResponseParser::Result::Complete)
    self->answered_ms_ = static_cast<int64_t>(uv_now(self->loop_));  // an answer that ends at EOF
  self->finish(nread == UV_EOF ? "eof" : nread == UV_ECONNRESET ? "reset" : "error");
}

void HeldConnection::read(const char* data, size_t len) {
  if (!parser_) return;
  const auto result = parser_->feed(data, len);
  if (result == http::ResponseParser::Result::Ok) return;
  parser_.reset();  // complete, or not HTTP: either way nothing more is parsed
  if (result == http::ResponseParser::Result::Complete) answered_ms_ = static_cast<int64_t>(uv_now(loop_));
  else finish("error");
}

void HeldConnection::finish(const char* reason) {
  auto ended = std::move(ended_);
  ended_ = nullptr;
  const int64_t idle = answered_ms_ < 0 ? -1 : static_cast<int64_t>(uv_now(loop_)) - answered_ms_;
  core::HandleGroup::Keep keep(group_);  // `ended` runs before the object may go
  end();
  if (ended) ended(reason, idle);
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
  conn_ = HeldConnection::open(loop_, host_, port_, [this, lost = std::move(lost)](const char* reason, int64_t) {
    conn_ = nullptr;
    if (reason) lost(reason);
  });
}

std::string HttpWatch::get_request(const std::string& target, const std::string& host_header) {
  return fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: lettagate\r\nAccept: application/json\r\n\r\n",
                     target, host_header);
}

HttpWatch::~HttpWatch() {
  if (conn_) conn_->close();
}

void HttpWatch::ensure(Lost lost) {
  lost_ = std::move(lost);
  if (conn_) return;
  quick_closes_ = 0;
  open(false);
}

void HttpWatch::open(bool verifying) {
  verifying_ = verifying;
  conn_ = HeldConnection::open(
      loop_, host_, port_, [this](const char* reason, int64_t idle_ms) { ended(reason, idle_ms); }, request_);
}

// The rule (see held_connection.hpp): a FIN after an answer is checked with a new connection;
// anything else that ends an open connection is a signal, and so is a check that fails.
void HttpWatch::ended(const char* reason, int64_t idle_ms) {
  conn_ = nullptr;
  const bool was_verifying = verifying_;
  verifying_ = false;
  if (reason && std::strcmp(reason, "eof") == 0 && idle_ms >= 0) {
    quick_closes_ = idle_ms < kQuickCloseMs ? quick_closes_ + 1 : 0;
    if (quick_closes_ > kMaxQuickCloses) return;  // no keep-alive here: the next success reopens
    ++idle_closes_;
    open(true);
    return;
  }
  if (!reason && !was_verifying) return;  // the first connect failed: the probe sees that itself
  if (auto lost = lost_) lost(reason ? reason : "eof");  // a check that failed: the FIN was the server going
}

}  // namespace lg::probes
