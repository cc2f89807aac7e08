#pragma once
// PgAttempt: one PostgreSQL connection and one simple-query round trip on the libuv loop, with
// libpq's non-blocking API: one probe attempt.
//
//   resolve  host names with a DnsQuery (off the loop, on libuv's thread pool): libpq would
//            resolve them synchronously inside PQconnectStartParams and stall the whole loop.
//            libpq then gets the addresses as hostaddr, the names stay as host (for TLS,
//            .pgpass and PQhost).
//   connect  PQconnectStartParams, then PQconnectPoll on each readiness event of a uv_poll_t
//            watching PQsocket(). libpq moves to the next address with a NEW socket when one
//            fails, often under the same fd number, so the socket is looked up again after
//            every PQconnectPoll and compared by (fd, inode); when it changed the poll handle
//            is closed and, once closed, started again on the new socket.
//   query    PQsetnonblocking, PQsendQuery, PQflush until it returns 0 (waiting for writable),
//            then PQconsumeInput / PQisBusy / PQgetResult until it returns NULL.
//
//   resume   the same round trip on a session a previous attempt kept (take_connection): no
//            connect, the query at once (postgres_probe.cpp decides when that is honest).
//
// Contract (as a Probe's): `cb` runs exactly once, never from inside start() (the first step
// runs on a later turn, a Defer); after cancel() it never runs.
// Lifetime: a HandleGroup object (core/handle_group.hpp): it frees itself once it finished (or
// was cancelled) and its poll handle is closed. PQfinish runs in the destructor, after the poll
// handle's close callback, so the loop never watches a socket libpq has closed.
// Nothing the attempt reports contains the password.
#include <libpq-fe.h>
#include <sys/types.h>
#include <uv.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/defer.hpp"
#include "core/dns_query.hpp"
#include "core/handle.hpp"
#include "probes/pg_reply.hpp"

namespace lg::probes::pg {

class PgAttempt {
 public:
  using Callback = std::function<void(PgReply)>;
  // `dsn` is passed to libpq as is (URL or key=value); `query` may hold several statements.
  static PgAttempt* start(uv_loop_t* loop, std::string dsn, std::string query, Callback cb);
  // Runs `query` on `conn`, an idle session a previous attempt handed out (the attempt owns it
  // from now on); `dsn` is the one it was opened with (for names and redaction).
  static PgAttempt* resume(uv_loop_t* loop, std::string dsn, PGconn* conn, std::string query, Callback cb);
  void cancel();
  // Only from inside `cb`: the session, when the round trip succeeded and the session is idle
  // (no transaction open), handed to the caller instead of being closed; else nullptr.
  PGconn* take_connection();

  PgAttempt(const PgAttempt&) = delete;
  PgAttempt& operator=(const PgAttempt&) = delete;

 private:
  enum class State { Starting, Resolving, Connecting, Flushing, Reading, Done };
  struct Host {
    std::string name;                // as the DSN gives it ("" or a socket dir: no resolving)
    std::string port;                // this host's port ("" when the DSN names none)
    bool resolve = false;            // a name uv_getaddrinfo must turn into addresses
    std::vector<std::string> addrs;  // resolved addresses (hostaddr for libpq)
  };

  friend class lg::core::HandleGroup;
  PgAttempt(uv_loop_t* loop, std::string dsn, std::string query, Callback cb);
  ~PgAttempt();

  void begin();
  bool plan_hosts();
  void resolve_next();
  void on_resolved(int status, const core::Addresses& addresses);
  void connect();
  static void on_poll(uv_poll_t* handle, int status, int events);
  static void on_poll_closed(void* self);
  void step_connect();
  void on_connected();
  void step_flush();
  void step_read();
  void collect(PGresult* res);
  void watch(int events);

  void fail(std::string code, std::string message);
  void fail_from_conn();
  void finish();
  void name_server();
  std::string param(const char* key, const char* env = nullptr) const;
  std::string clean(std::string text) const;
  void end();

  uv_loop_t* loop_;
  std::string dsn_;  // holds the password: never logged, never reported
  std::string query_;
  Callback cb_;
  State state_ = State::Starting;
  std::map<std::string, std::string> params_;  // the parsed DSN (keyword -> non-empty value)
  std::vector<Host> hosts_;
  size_t next_host_ = 0;
  std::string dns_error_;
  core::HandleGroup group_{this};
  core::Defer* begin_ = nullptr;   // runs begin() on a later turn
  core::DnsQuery* dns_ = nullptr;  // the lookup of hosts_[next_host_], until it answers
  PGconn* conn_ = nullptr;
  core::Handle<uv_poll_t> poll_{group_};  // on PQsocket()
  int poll_fd_ = -1;
  ino_t poll_inode_ = 0;
  int wanted_ = 0;  // the events to watch on the new socket once the old handle is closed
  PgReply reply_;
};

}  // namespace lg::probes::pg
