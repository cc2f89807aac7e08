#include "probes/pg_attempt.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>

#include "config/redact.hpp"
#include "core/net_address.hpp"
#include "probes/pg_checks.hpp"

namespace lg::probes::pg {
namespace {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  size_t from = 0;
  for (size_t comma; (comma = s.find(',', from)) != std::string::npos; from = comma + 1) out.push_back(s.substr(from, comma - from));
  out.push_back(s.substr(from));
  return out;
}

std::string join_commas(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? "," : "") + parts[i];
  return out;
}

bool is_ip_literal(const std::string& host) { return core::parse_ip_literal(host, 0).has_value(); }

bool is_socket_path(const std::string& host) { return host.empty() || host[0] == '/' || host[0] == '@'; }

}  // namespace

PgAttempt* PgAttempt::start(uv_loop_t* loop, std::string dsn, std::string query, Callback cb) {
  auto* a = new PgAttempt(loop, std::move(dsn), std::move(query), std::move(cb));
  // Begin on a later turn: a malformed DSN or a refused connection can fail at once, and the
  // callback must never run inside start().
  a->begin_ = core::Defer::once(loop, [a] {
    a->begin_ = nullptr;
    a->begin();
  });
  return a;
}

PgAttempt* PgAttempt::resume(uv_loop_t* loop, std::string dsn, PGconn* conn, std::string query, Callback cb) {
  PgAttempt* a = start(loop, std::move(dsn), std::move(query), std::move(cb));
  a->conn_ = conn;  // begin() sees it and sends the query on it
  return a;
}

PGconn* PgAttempt::take_connection() {
  const bool clean = reply_.connected && !reply_.failure && conn_ && PQstatus(conn_) == CONNECTION_OK &&
                     PQtransactionStatus(conn_) == PQTRANS_IDLE;
  if (!clean || poll_.open()) return nullptr;  // finish() closed the poll: the socket is free to watch
  PGconn* c = conn_;
  conn_ = nullptr;
  return c;
}

PgAttempt::PgAttempt(uv_loop_t* loop, std::string dsn, std::string query, Callback cb)
    : loop_(loop), dsn_(std::move(dsn)), query_(std::move(query)), cb_(std::move(cb)) {}

PgAttempt::~PgAttempt() {
  if (conn_) PQfinish(conn_);  // the poll handle on its socket is closed by now
}

void PgAttempt::begin() {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(dsn_.c_str(), &err);
  if (!opts) {
    std::string why = err ? err : "unparsable";
    if (err) PQfreemem(err);
    fail("error", "invalid connection string: " + why.substr(0, why.find('\n')));
    return;
  }
  for (auto* o = opts; o->keyword; ++o)
    if (o->val && *o->val) params_[o->keyword] = o->val;
  PQconninfoFree(opts);
  if (conn_) {  // resume(): a kept session, connected and authenticated
    on_connected();
    return;
  }
  if (plan_hosts()) {
    resolve_next();
  } else {
    hosts_.clear();  // nothing to resolve: libpq gets the connection string unchanged
    connect();
  }
}

// A DSN setting as libpq takes it: the parsed DSN's value, else (with `env`) libpq's own
// environment fallback, else "".
std::string PgAttempt::param(const char* key, const char* env) const {
  if (auto it = params_.find(key); it != params_.end()) return it->second;
  return env ? pq_text(std::getenv(env)) : std::string();
}

// Splits host/port (lists allowed) into hosts_; true when some name needs resolving.
bool PgAttempt::plan_hosts() {
  if (!param("hostaddr", "PGHOSTADDR").empty()) return false;  // libpq resolves nothing itself
  const auto names = split_commas(param("host", "PGHOST"));
  const auto ports = split_commas(param("port", "PGPORT"));
  if (ports.size() > 1 && ports.size() != names.size()) return false;  // libpq reports the mismatch
  bool any = false;
  for (size_t i = 0; i < names.size(); ++i) {
    Host h;
    h.name = names[i];
    h.port = ports.empty() ? "" : ports[ports.size() == 1 ? 0 : i];
    h.resolve = !is_socket_path(h.name) && !is_ip_literal(h.name);
    if (!h.resolve) h.addrs.push_back(is_ip_literal(h.name) ? h.name : "");  // "": a socket, no hostaddr
    any = any || h.resolve;
    hosts_.push_back(std::move(h));
  }
  return any;
}

void PgAttempt::resolve_next() {
  while (next_host_ < hosts_.size() && !hosts_[next_host_].resolve) ++next_host_;
  if (next_host_ == hosts_.size()) {
    connect();
    return;
  }
  state_ = State::Resolving;
  dns_ = core::DnsQuery::start(loop_, hosts_[next_host_].name, 0, [this](int status, const core::Addresses& addresses) {
    on_resolved(status, addresses);
  });
}

void PgAttempt::on_resolved(int status, const core::Addresses& addresses) {
  dns_ = nullptr;
  Host& h = hosts_[next_host_];
  if (status != 0) dns_error_ = fmt::format("cannot resolve host {}: {}", h.name, uv_strerror(status));
  if (status == 0) {
    for (const sockaddr_storage& a : *addresses) {
      std::string ip = core::ip_text(a);
      if (std::find(h.addrs.begin(), h.addrs.end(), ip) == h.addrs.end()) h.addrs.push_back(std::move(ip));
    }
  }
  ++next_host_;
  resolve_next();
}

void PgAttempt::connect() {
  std::vector<std::string> keys{"fallback_application_name", "dbname"};
  std::vector<std::string> values{"lettagate", dsn_};  // later entries override the expanded DSN
  if (!hosts_.empty()) {
    // One libpq host entry per resolved address: the name as host, the address as hostaddr.
    std::vector<std::string> host, hostaddr, port;
    for (const auto& h : hosts_) {
      for (const auto& a : h.addrs) {
        host.push_back(h.name);
        hostaddr.push_back(a);
        port.push_back(h.port);
      }
    }
    if (host.empty()) {
      reply_.host = hosts_.front().name;
      fail("dns", dns_error_);
      return;
    }
    keys.insert(keys.end(), {"host", "hostaddr"});
    values.insert(values.end(), {join_commas(host), join_commas(hostaddr)});
    if (std::any_of(port.begin(), port.end(), [](const std::string& p) { return !p.empty(); })) {
      keys.push_back("port");
      values.push_back(join_commas(port));
    }
  }
  std::vector<const char*> k, v;
  for (size_t i = 0; i < keys.size(); ++i) {
    k.push_back(keys[i].c_str());
    v.push_back(values[i].c_str());
  }
  k.push_back(nullptr);
  v.push_back(nullptr);
  conn_ = PQconnectStartParams(k.data(), v.data(), 1);
  if (!conn_) {
    fail("error", "libpq could not allocate a connection");
    return;
  }
  PQsetNoticeProcessor(conn_, +[](void*, const char*) {}, nullptr);  // else libpq prints NOTICEs to stderr
  PQsetErrorVerbosity(conn_, PQERRORS_VERBOSE);  // the server's SQLSTATE in connection errors
  if (PQstatus(conn_) == CONNECTION_BAD) {
    fail_from_conn();
    return;
  }
  state_ = State::Connecting;
  watch(UV_WRITABLE);  // libpq: before the first PQconnectPoll, act as if it said WRITING
}

void PgAttempt::on_poll(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<PgAttempt*>(handle->data);
  if (self->state_ == State::Done) return;
  // libuv reports a socket error (POLLERR, e.g. a refused connect) as UV_EBADF and stops the
  // handle; libpq reads the real error (SO_ERROR, recv) itself, so let it look.
  if (status < 0) events = UV_READABLE | UV_WRITABLE;
  switch (self->state_) {
    case State::Connecting: self->step_connect(); break;
    case State::Flushing:
      if (events & UV_READABLE) PQconsumeInput(self->conn_);  // libpq: read while waiting to write
      self->step_flush();
      break;
    case State::Reading: self->step_read(); break;
    default: break;
  }
}

void PgAttempt::step_connect() {
  switch (PQconnectPoll(conn_)) {
    case PGRES_POLLING_OK: on_connected(); return;
    case PGRES_POLLING_FAILED: fail_from_conn(); return;
    case PGRES_POLLING_READING: watch(UV_READABLE); return;
    default: watch(UV_WRITABLE); return;
  }
}

void PgAttempt::on_connected() {
  reply_.connected = true;
  if (PQsetnonblocking(conn_, 1) != 0 || PQsendQuery(conn_, query_.c_str()) == 0) {
    fail_from_conn();
    return;
  }
  state_ = State::Flushing;
  step_flush();
}

void PgAttempt::step_flush() {
  switch (PQflush(conn_)) {
    case 0:
      state_ = State::Reading;
      watch(UV_READABLE);
      return;
    case 1: watch(UV_READABLE | UV_WRITABLE); return;
    default: fail_from_conn(); return;
  }
}

void PgAttempt::step_read() {
  // On a lost connection PQconsumeInput fails, yet results already received are still
  // parsed by PQgetResult, followed by an error result for the loss; so drain first.
  const bool consumed = PQconsumeInput(conn_) == 1;
  while (!PQisBusy(conn_)) {
    PGresult* res = PQgetResult(conn_);
    if (!res) {
      finish();  // every result is in
      return;
    }
    collect(res);
    PQclear(res);
  }
  if (!consumed || PQstatus(conn_) == CONNECTION_BAD) {
    fail_from_conn();
    return;
  }
  watch(UV_READABLE);
}

void PgAttempt::collect(PGresult* res) {
  PgStatement s;
  const ExecStatusType status = PQresultStatus(res);
  if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
    s.ok = true;
    for (int r = 0; r < PQntuples(res); ++r) {
      PgRow row;
      for (int c = 0; c < PQnfields(res); ++c)
        row.push_back(PQgetisnull(res, r, c) ? std::nullopt : std::optional<std::string>(PQgetvalue(res, r, c)));
      s.rows.push_back(std::move(row));
    }
  } else {
    const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    s.error = primary ? PgError{"", pq_text(PQresultErrorField(res, PG_DIAG_SQLSTATE)), primary}
                      : parse_libpq_error(pq_text(PQresultErrorMessage(res)));  // client-side: no fields
    s.error.message = clean(s.error.message);
    s.error.code = reason_code_for(s.error.sqlstate, s.error.message);
  }
  reply_.statements.push_back(std::move(s));
}

// Watches PQsocket() for `events`. When libpq's socket changed, the handle on the old one is
// closed first and the new one watched from its close callback.
void PgAttempt::watch(int events) {
  const int fd = PQsocket(conn_);
  struct stat st{};
  if (fd < 0 || fstat(fd, &st) != 0) {
    fail_from_conn();
    return;
  }
  wanted_ = events;
  if (poll_.closing()) return;  // on_poll_closed watches the new socket
  if (poll_.open() && (fd != poll_fd_ || st.st_ino != poll_inode_)) {
    poll_.close(on_poll_closed, this);  // uv_close takes the old fd out of epoll at once
    return;
  }
  if (!poll_.open()) {
    if (int rc = poll_.init(this, uv_poll_init, loop_, fd); rc != 0) {
      fail("error", fmt::format("cannot watch the connection's socket: {}", uv_strerror(rc)));
      return;
    }
    poll_fd_ = fd;
    poll_inode_ = st.st_ino;
  }
  if (int rc = uv_poll_start(poll_.get(), events, on_poll); rc != 0)
    fail("error", fmt::format("cannot watch the connection's socket: {}", uv_strerror(rc)));
}

void PgAttempt::on_poll_closed(void* self) {
  auto* a = static_cast<PgAttempt*>(self);
  if (a->state_ != State::Done) a->watch(a->wanted_);
}

void PgAttempt::fail(std::string code, std::string message) {
  reply_.failure = PgError{std::move(code), "", clean(std::move(message))};
  finish();
}

void PgAttempt::fail_from_conn() {
  PgError e = parse_libpq_error(conn_ ? pq_text(PQerrorMessage(conn_)) : "");
  if (e.message == "unknown error") e = {"closed", "", "connection lost"};
  e.message = clean(std::move(e.message));
  reply_.failure = std::move(e);
  finish();
}

void PgAttempt::finish() {
  if (state_ == State::Done) return;
  state_ = State::Done;
  name_server();
  auto cb = std::move(cb_);
  cb_ = nullptr;
  core::HandleGroup::Keep keep(group_);  // `cb` runs before the attempt may go
  end();
  if (cb) cb(std::move(reply_));
}

void PgAttempt::cancel() {
  if (state_ == State::Done) return;
  state_ = State::Done;
  cb_ = nullptr;
  end();
}

void PgAttempt::end() {
  if (begin_) begin_->close();
  begin_ = nullptr;
  if (dns_) dns_->cancel();
  dns_ = nullptr;
  poll_.close();
  group_.close();
}

// Names the server as libpq used it; before a connection exists, from the parsed DSN.
void PgAttempt::name_server() {
  if (conn_) {
    reply_.database = pq_text(PQdb(conn_));
    reply_.host = pq_text(PQhost(conn_));
    reply_.port = pq_text(PQport(conn_));
    reply_.user = pq_text(PQuser(conn_));
  }
  if (reply_.user.empty()) reply_.user = param("user", "PGUSER");
  if (reply_.database.empty()) reply_.database = param("dbname", "PGDATABASE");
  if (reply_.database.empty()) reply_.database = reply_.user.empty() ? "(default)" : reply_.user;
  if (reply_.host.empty()) reply_.host = param("host", "PGHOST");
  if (reply_.port.empty()) {
    const auto ports = split_commas(param("port", "PGPORT"));
    reply_.port = ports.empty() ? "5432" : ports.front();
  }
}

// The server's messages never carry the password, but libpq's may quote the connection string
// (a malformed one whole, before params_ exist): the one redaction of configuration errors
// (config/redact.hpp) over the DSN as given, then the password libpq actually parsed.
std::string PgAttempt::clean(std::string text) const {
  std::string password = conn_ ? pq_text(PQpass(conn_)) : "";
  if (auto it = params_.find("password"); password.empty() && it != params_.end()) password = it->second;
  const std::string user = conn_ ? pq_text(PQuser(conn_)) : param("user");
  const std::string db = conn_ ? pq_text(PQdb(conn_)) : param("dbname");
  text = redact_message(std::move(text), dsn_, config::RedactOptions{false, false, {user, db}});
  return scrub(std::move(text), password, {user, db});
}

}  // namespace lg::probes::pg
