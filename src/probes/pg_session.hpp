#pragma once
// PgSession: one PostgreSQL connection and one simple-query round trip on the libuv loop, with
// libpq's non-blocking API. One session per probe attempt.
//
//   resolve  host names with uv_getaddrinfo (off the loop, on libuv's thread pool): libpq would
//            resolve them synchronously inside PQconnectStartParams and stall the whole loop.
//            libpq then gets the addresses as hostaddr, the names stay as host (for TLS,
//            .pgpass and PQhost).
//   connect  PQconnectStartParams, then PQconnectPoll on each readiness event of a uv_poll_t
//            watching PQsocket(). libpq moves to the next address with a NEW socket when one
//            fails, often under the same fd number, so the socket is looked up again after
//            every PQconnectPoll and compared by (fd, inode); when it changed the old poll
//            handle is closed and a new one started on the new socket.
//   query    PQsetnonblocking, PQsendQuery, PQflush until it returns 0 (waiting for writable),
//            then PQconsumeInput / PQisBusy / PQgetResult until it returns NULL.
//
// Contract (as a Probe's): `cb` runs exactly once, never from inside start(); after cancel()
// it never runs. The session owns its handles and frees itself once it finished (or was
// cancelled) and its last handle is closed and its last request returned. The poll handle is
// closed before PQfinish, so the loop never watches a socket libpq has closed.
// Nothing the session reports contains the password.
#include <libpq-fe.h>
#include <sys/types.h>
#include <uv.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/timer.hpp"
#include "probes/pg_reply.hpp"

namespace lg::probes::pg {

class PgSession {
 public:
  using Callback = std::function<void(PgReply)>;
  // `dsn` is passed to libpq as is (URL or key=value); `query` may hold several statements.
  static PgSession* start(uv_loop_t* loop, std::string dsn, std::string query, Callback cb);
  void cancel();

  PgSession(const PgSession&) = delete;
  PgSession& operator=(const PgSession&) = delete;

 private:
  enum class State { Starting, Resolving, Connecting, Flushing, Reading, Done };
  struct Host {
    std::string name;                // as the DSN gives it ("" or a socket dir: no resolving)
    std::string port;                // this host's port ("" when the DSN names none)
    bool resolve = false;            // a name uv_getaddrinfo must turn into addresses
    std::vector<std::string> addrs;  // resolved addresses (hostaddr for libpq)
  };

  PgSession(uv_loop_t* loop, std::string dsn, std::string query, Callback cb);
  ~PgSession();

  void begin();
  bool plan_hosts();
  void resolve_next();
  static void on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* res);
  void connect();
  static void on_poll(uv_poll_t* handle, int status, int events);
  void step_connect();
  void on_connected();
  void step_flush();
  void step_read();
  void collect(PGresult* res);
  void watch(int events);
  void close_poll();

  void fail(std::string code, std::string message);
  void fail_from_conn();
  void finish();
  void name_server();
  std::string clean(std::string text) const;
  void release();

  uv_loop_t* loop_;
  std::string dsn_;  // holds the password: never logged, never reported
  std::string query_;
  Callback cb_;
  State state_ = State::Starting;
  std::map<std::string, std::string> params_;  // the parsed DSN (keyword -> non-empty value)
  std::vector<Host> hosts_;
  size_t next_host_ = 0;
  std::string dns_error_;
  uv_getaddrinfo_t* resolving_ = nullptr;
  PGconn* conn_ = nullptr;
  uv_poll_t* poll_ = nullptr;
  int poll_fd_ = -1;
  ino_t poll_inode_ = 0;
  Timer* kick_ = nullptr;  // defers begin() to the next loop turn
  PgReply reply_;
  int refs_ = 1;  // the session's own reference (dropped when it finishes or is cancelled),
                  // + one per open poll handle + one per pending getaddrinfo request
};

}  // namespace lg::probes::pg
