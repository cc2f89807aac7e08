#include "probes/pg_session.hpp"

#include <cstring>

#include "core/log.hpp"
#include "probes/pg_checks.hpp"

namespace lg::probes::pg {
namespace {

void ignore_notice(void*, const PGresult*) {}

}  // namespace

PgIdleSession* PgIdleSession::hold(uv_loop_t* loop, PGconn* conn, Ended ended) {
  auto* s = new PgIdleSession(conn, std::move(ended));
  PQsetNoticeReceiver(conn, on_notice, s);
  const int fd = PQsocket(conn);
  if (fd < 0 || s->poll_.init(s, uv_poll_init, loop, fd) != 0 ||
      uv_poll_start(s->poll_.get(), UV_READABLE, on_poll) != 0) {
    s->close();  // the session is finished with the object
    return nullptr;
  }
  return s;
}

PgIdleSession::~PgIdleSession() {
  if (conn_) PQfinish(conn_);  // the poll handle on its socket is closed by now
}

PGconn* PgIdleSession::release() {
  PGconn* c = conn_;
  conn_ = nullptr;
  ended_ = nullptr;
  if (c) PQsetNoticeReceiver(c, ignore_notice, nullptr);  // this object goes
  end();  // uv_close takes the socket out of epoll at once: the next attempt may watch it
  return c;
}

void PgIdleSession::close() {
  ended_ = nullptr;
  end();
}

void PgIdleSession::end() {
  poll_.close();
  group_.close();
}

void PgIdleSession::on_poll(uv_poll_t* handle, int, int) {
  // A socket error (status < 0) is read by libpq as well: PQconsumeInput reports it.
  static_cast<PgIdleSession*>(handle->data)->read();
}

// An idle backend has nothing to say: whatever comes is consumed (a ParameterStatus is taken in
// by libpq; a FATAL goes to on_notice); a read that fails is the session's end.
void PgIdleSession::read() {
  if (!ended_) return;
  const bool read_ok = PQconsumeInput(conn_) == 1;
  PQisBusy(conn_);  // parses what was read (PQconsumeInput only buffers it): a FATAL reaches on_notice
  // A FATAL is the end: the backend closes the socket only once it has exited, tens of ms later.
  if (!fatal_code_.empty()) return finish(fatal_code_);
  if (read_ok && PQstatus(conn_) == CONNECTION_OK) return;
  finish(parse_libpq_error(pq_text(PQerrorMessage(conn_))).code);
}

// libpq passes a message that answers no query (the backend's last words) as a notice.
void PgIdleSession::on_notice(void* arg, const PGresult* res) {
  auto* self = static_cast<PgIdleSession*>(arg);
  const std::string severity = pq_text(PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED));
  if (severity != "FATAL" && severity != "PANIC") return;
  const std::string message = pq_text(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
  self->fatal_code_ = reason_code_for(pq_text(PQresultErrorField(res, PG_DIAG_SQLSTATE)), message);
  core::log::get("postgres").debug("the kept session's backend said: {}", message);
}

void PgIdleSession::finish(const std::string& reason) {
  auto ended = std::move(ended_);
  ended_ = nullptr;
  core::HandleGroup::Keep keep(group_);  // `ended` runs before the object may go
  end();
  if (ended) ended(reason.c_str());
}

PGconn* PgSessionKeeper::take() {
  if (!idle_) return nullptr;
  const uint64_t age_ms = uv_now(loop_) - opened_ms_;
  if (uses_ >= kFreshEveryProbes || age_ms >= static_cast<uint64_t>(kFreshAfter.count())) {
    drop();
    return nullptr;
  }
  PGconn* conn = idle_->release();
  idle_ = nullptr;
  return conn;
}

void PgSessionKeeper::keep(PGconn* conn, bool fresh) {
  drop();
  if (fresh) {
    opened_ms_ = uv_now(loop_);
    uses_ = 0;
  }
  ++uses_;
  idle_ = PgIdleSession::hold(loop_, conn, [this](const char* reason) { ended(reason); });
}

void PgSessionKeeper::drop() {
  if (idle_) idle_->close();
  idle_ = nullptr;
}

// The server's idle_session_timeout ending the session is configuration, not a crash: the next
// probe opens a fresh one, no re-probe is asked for.
void PgSessionKeeper::ended(const char* reason) {
  idle_ = nullptr;
  if (std::strcmp(reason, "idle_timeout") == 0) return;
  lost(reason);
}

void PgSessionKeeper::lost(const char* reason) {
  if (auto lost = lost_) lost(reason);
}

}  // namespace lg::probes::pg
