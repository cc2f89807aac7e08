#include "probes/pg_session.hpp"

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

bool is_ip_literal(const std::string& host) { return parse_ip_literal(host, 0).has_value(); }

bool is_socket_path(const std::string& host) { return host.empty() || host[0] == '/' || host[0] == '@'; }

std::string str(const char* v) { return v ? v : ""; }

}  // namespace

PgSession* PgSession::start(uv_loop_t* loop, std::string dsn, std::string query, Callback cb) {
  auto* s = new PgSession(loop, std::move(dsn), std::move(query), std::move(cb));
  // Begin on the next loop turn: a refused connection can fail inside PQconnectStartParams,
  // and the callback must never run inside start().
  s->kick_ = Timer::create(loop, [s] {
    s->kick_->close();
    s->kick_ = nullptr;
    s->begin();
  });
  s->kick_->start(std::chrono::milliseconds(0));
  return s;
}

PgSession::PgSession(uv_loop_t* loop, std::string dsn, std::string query, Callback cb)
    : loop_(loop), dsn_(std::move(dsn)), query_(std::move(query)), cb_(std::move(cb)) {}

PgSession::~PgSession() {
  if (conn_) PQfinish(conn_);  // every poll handle on its socket is closed by now
}

void PgSession::begin() {
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
  if (plan_hosts()) {
    resolve_next();
  } else {
    hosts_.clear();  // nothing to resolve: libpq gets the connection string unchanged
    connect();
  }
}

// Splits host/port (lists allowed) into hosts_; true when some name needs resolving.
bool PgSession::plan_hosts() {
  auto param = [this](const char* key, const char* env) -> std::string {
    if (auto it = params_.find(key); it != params_.end()) return it->second;
    return str(std::getenv(env));  // libpq's own fallbacks
  };
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

void PgSession::resolve_next() {
  while (next_host_ < hosts_.size() && !hosts_[next_host_].resolve) ++next_host_;
  if (next_host_ == hosts_.size()) {
    connect();
    return;
  }
  state_ = State::Resolving;
  auto* req = new uv_getaddrinfo_t;
  req->data = this;
  const addrinfo hints = tcp_lookup_hints();
  ++refs_;
  resolving_ = req;
  const std::string& name = hosts_[next_host_].name;
  if (int rc = uv_getaddrinfo(loop_, req, on_resolved, name.c_str(), nullptr, &hints); rc != 0) {
    delete req;
    resolving_ = nullptr;
    --refs_;  // never the last: the session's own reference is held until it finishes
    dns_error_ = fmt::format("cannot resolve host {}: {}", name, uv_strerror(rc));
    ++next_host_;
    resolve_next();
  }
}

void PgSession::on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* res) {
  auto* self = static_cast<PgSession*>(req->data);
  delete req;
  self->resolving_ = nullptr;
  if (self->state_ == State::Resolving) {
    Host& h = self->hosts_[self->next_host_];
    if (status != 0) self->dns_error_ = fmt::format("cannot resolve host {}: {}", h.name, uv_strerror(status));
    for (const sockaddr_storage& a : answer_addresses(status == 0 ? res : nullptr)) {
      std::string ip = ip_text(a);
      if (std::find(h.addrs.begin(), h.addrs.end(), ip) == h.addrs.end()) h.addrs.push_back(std::move(ip));
    }
    ++self->next_host_;
    self->resolve_next();
  }
  uv_freeaddrinfo(res);
  self->release();
}

void PgSession::connect() {
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

void PgSession::on_poll(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<PgSession*>(handle->data);
  if (self->state_ == State::Done || handle != self->poll_) return;
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

void PgSession::step_connect() {
  switch (PQconnectPoll(conn_)) {
    case PGRES_POLLING_OK: on_connected(); return;
    case PGRES_POLLING_FAILED: fail_from_conn(); return;
    case PGRES_POLLING_READING: watch(UV_READABLE); return;
    default: watch(UV_WRITABLE); return;
  }
}

void PgSession::on_connected() {
  reply_.connected = true;
  if (PQsetnonblocking(conn_, 1) != 0 || PQsendQuery(conn_, query_.c_str()) == 0) {
    fail_from_conn();
    return;
  }
  state_ = State::Flushing;
  step_flush();
}

void PgSession::step_flush() {
  switch (PQflush(conn_)) {
    case 0:
      state_ = State::Reading;
      watch(UV_READABLE);
      return;
    case 1: watch(UV_READABLE | UV_WRITABLE); return;
    default: fail_from_conn(); return;
  }
}

void PgSession::step_read() {
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

void PgSession::collect(PGresult* res) {
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
    s.error = primary ? PgError{"", str(PQresultErrorField(res, PG_DIAG_SQLSTATE)), primary}
                      : parse_libpq_error(str(PQresultErrorMessage(res)));  // client-side: no fields
    s.error.message = clean(s.error.message);
    s.error.code = reason_code_for(s.error.sqlstate, s.error.message);
  }
  reply_.statements.push_back(std::move(s));
}

// Watches PQsocket() for `events`, on a new poll handle when libpq's socket changed.
void PgSession::watch(int events) {
  const int fd = PQsocket(conn_);
  struct stat st{};
  if (fd < 0 || fstat(fd, &st) != 0) {
    fail_from_conn();
    return;
  }
  if (poll_ && (fd != poll_fd_ || st.st_ino != poll_inode_)) close_poll();
  if (!poll_) {
    auto* p = new uv_poll_t;
    if (int rc = uv_poll_init(loop_, p, fd); rc != 0) {
      delete p;  // uv_poll_init fails before it registers the handle
      fail("error", fmt::format("cannot watch the connection's socket: {}", uv_strerror(rc)));
      return;
    }
    p->data = this;
    ++refs_;
    poll_ = p;
    poll_fd_ = fd;
    poll_inode_ = st.st_ino;
  }
  if (int rc = uv_poll_start(poll_, events, on_poll); rc != 0)
    fail("error", fmt::format("cannot watch the connection's socket: {}", uv_strerror(rc)));
}

// uv_close stops the watcher and removes the fd from epoll at once; the handle's memory goes
// in the close callback, which also drops the reference that keeps PQfinish waiting.
void PgSession::close_poll() {
  if (!poll_) return;
  uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) {
    auto* self = static_cast<PgSession*>(h->data);
    delete reinterpret_cast<uv_poll_t*>(h);
    self->release();
  });
  poll_ = nullptr;
  poll_fd_ = -1;
}

void PgSession::fail(std::string code, std::string message) {
  reply_.failure = PgError{std::move(code), "", clean(std::move(message))};
  finish();
}

void PgSession::fail_from_conn() {
  PgError e = parse_libpq_error(conn_ ? str(PQerrorMessage(conn_)) : "");
  if (e.message == "unknown error") e = {"closed", "", "connection lost"};
  e.message = clean(std::move(e.message));
  reply_.failure = std::move(e);
  finish();
}

void PgSession::finish() {
  if (state_ == State::Done) return;
  state_ = State::Done;
  if (kick_) kick_->close();
  kick_ = nullptr;
  close_poll();
  name_server();
  auto cb = std::move(cb_);
  cb_ = nullptr;
  if (cb) cb(std::move(reply_));
  release();
}

void PgSession::cancel() {
  if (state_ == State::Done) return;
  state_ = State::Done;
  cb_ = nullptr;
  if (kick_) kick_->close();
  kick_ = nullptr;
  // A lookup already running cannot be stopped: its callback still comes and drops its reference.
  if (resolving_) uv_cancel(reinterpret_cast<uv_req_t*>(resolving_));
  close_poll();
  release();
}

// Names the server as libpq used it; before a connection exists, from the parsed DSN.
void PgSession::name_server() {
  auto param = [this](const char* key, const char* env) -> std::string {
    if (auto it = params_.find(key); it != params_.end()) return it->second;
    return str(std::getenv(env));
  };
  if (conn_) {
    reply_.database = str(PQdb(conn_));
    reply_.host = str(PQhost(conn_));
    reply_.port = str(PQport(conn_));
    reply_.user = str(PQuser(conn_));
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
std::string PgSession::clean(std::string text) const {
  std::string password = conn_ ? str(PQpass(conn_)) : "";
  if (auto it = params_.find("password"); password.empty() && it != params_.end()) password = it->second;
  auto param = [this](const char* key) {
    auto it = params_.find(key);
    return it == params_.end() ? std::string() : it->second;
  };
  const std::string user = conn_ ? str(PQuser(conn_)) : param("user");
  const std::string db = conn_ ? str(PQdb(conn_)) : param("dbname");
  text = redact_message(std::move(text), dsn_, RedactOptions{false, false, {user, db}});
  return scrub(std::move(text), password, {user, db});
}

void PgSession::release() {
  if (--refs_ == 0) delete this;
}

}  // namespace lg::probes::pg
