#pragma once
// The PostgreSQL session kept between probes (issue 20): after a successful probe the session
// stays open and idle instead of being closed, watched for its end, and the next probe runs its
// query on it (postgres_probe.cpp says when a fresh connection is opened instead).
//
//   PgIdleSession  the idle session while nobody queries it: a HandleGroup object
//                  (core/handle_group.hpp) with a uv_poll_t on PQsocket() for readable. An idle
//                  backend sends nothing; what arrives is its end: a FATAL message (postmaster
//                  died, pg_terminate_backend, a fast shutdown; libpq hands it to the notice
//                  receiver, as it is not an answer to a query) and then EOF, or a plain EOF or
//                  RST. `ended` runs once with the reason (reason_code_for of the FATAL's
//                  SQLSTATE, else of libpq's error: "shutting_down", "idle_timeout", "closed",
//                  "reset", "error"), unless release() or close() came first.
//   PgSessionKeeper  what the probe and the runner's Watch share: the idle session (if any),
//                  when it was opened and how often used; its end is the Watch's `lost`.
#include <libpq-fe.h>
#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/handle.hpp"
#include "probes/held_connection.hpp"

namespace lg::probes::pg {

// A fresh connection is opened for the probe after this many probes on one session, or once
// the session is this old, whichever comes first (and after any failure): see docs/probes.md.
constexpr int kFreshEveryProbes = 6;
constexpr std::chrono::milliseconds kFreshAfter{30000};

class PgIdleSession {
 public:
  using Ended = std::function<void(const char* reason)>;
  // Takes `conn` (an idle session) and watches it; nullptr (conn closed) when it cannot.
  static PgIdleSession* hold(uv_loop_t* loop, PGconn* conn, Ended ended);
  // Stops watching and hands the session back (nullptr if it already ended); the object goes.
  PGconn* release();
  // Ends the session (PQfinish: a Terminate message, then close); `ended` does not run.
  void close();

  PgIdleSession(const PgIdleSession&) = delete;
  PgIdleSession& operator=(const PgIdleSession&) = delete;

 private:
  friend class lg::core::HandleGroup;
  PgIdleSession(PGconn* conn, Ended ended) : conn_(conn), ended_(std::move(ended)) {}
  ~PgIdleSession();

  static void on_poll(uv_poll_t* handle, int status, int events);
  static void on_notice(void* self, const PGresult* res);
  void read();
  void finish(const std::string& reason);
  void end();

  core::HandleGroup group_{this};
  core::Handle<uv_poll_t> poll_{group_};
  PGconn* conn_;  // PQfinish'ed in the destructor, after the poll handle is closed
  Ended ended_;
  std::string fatal_code_;  // the reason code of a FATAL the server sent before closing
};

class PgSessionKeeper {
 public:
  explicit PgSessionKeeper(uv_loop_t* loop) : loop_(loop) {}
  ~PgSessionKeeper() { drop(); }
  PgSessionKeeper(const PgSessionKeeper&) = delete;
  PgSessionKeeper& operator=(const PgSessionKeeper&) = delete;

  // The kept session for the next probe; nullptr when none is kept or a fresh connection is
  // due (the kept one is closed first, so the server never sees two of ours).
  PGconn* take();
  // After a successful probe: `conn` is kept, idle and watched. `fresh`: it was opened by
  // that probe (its age and uses start now).
  void keep(PGconn* conn, bool fresh);
  void drop();
  // The runner's watch: told why a kept session ended while idle.
  void on_lost(Watch::Lost lost) { lost_ = std::move(lost); }
  // A kept session found ended: told to the watch (also by the probe, when the session died
  // under its query before the idle read saw it).
  void lost(const char* reason);

 private:
  void ended(const char* reason);

  uv_loop_t* loop_;
  PgIdleSession* idle_ = nullptr;
  uint64_t opened_ms_ = 0;  // loop time the session was opened
  int uses_ = 0;            // probes run on it
  Watch::Lost lost_;
};

// The runner's Watch (held_connection.hpp) over a keeper the probe shares.
class PgSessionWatch final : public Watch {
 public:
  explicit PgSessionWatch(std::shared_ptr<PgSessionKeeper> keeper) : keeper_(std::move(keeper)) {}
  // The runner stopped: the kept session goes with it (its poll handle would keep the loop alive).
  ~PgSessionWatch() override {
    keeper_->on_lost(nullptr);
    keeper_->drop();
  }
  void ensure(Lost lost) override { keeper_->on_lost(std::move(lost)); }

 private:
  std::shared_ptr<PgSessionKeeper> keeper_;
};

}  // namespace lg::probes::pg
