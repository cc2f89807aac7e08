// The Postgres probe against the real PostgreSQL of scripts/services (databases prepared like
// Letta's init.sql: schema letta, search_path letta, no public schema), driven by the real
// ProbeRunner: every verdict with its reason_code and reason, cancellation, and the lettagate
// binary's /readyz following a stopped and restarted PostgreSQL in time.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libpq-fe.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <thread>

#include "integration/probe_harness.hpp"
#include "probes/factories.hpp"
#include "support/silent_listener.hpp"
#include "support/test_loop.hpp"

using lg::probes::Status;
using lgtest::ProbeHarness;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string password() { return lgtest::env("LG_PG_PASSWORD"); }
std::string server() { return lgtest::env("LG_PG_HOST") + ":" + lgtest::env("LG_PG_PORT"); }

std::string dsn(const std::string& db, const std::string& pass = "") {
  return "postgresql://letta:" + (pass.empty() ? password() : pass) + "@" + server() + "/" + db;
}

lg::config::Config pg_config(const std::string& dsn, std::vector<std::string> flags = {}, const char* timeout = "2s") {
  std::vector<std::string> args{"--postgres-dsn", dsn, "--postgres-interval", "5s", "--postgres-timeout", timeout};
  args.insert(args.end(), flags.begin(), flags.end());
  return lgtest::config_from(args);
}

std::unique_ptr<ProbeHarness> pg_harness(const std::string& dsn, std::vector<std::string> flags = {},
                                         const char* timeout = "2s") {
  lg::config::Config cfg = pg_config(dsn, std::move(flags), timeout);
  return std::make_unique<ProbeHarness>(
      "postgres", cfg.postgres.schedule, [&](uv_loop_t* loop) { return lg::probes::make_probe(loop, cfg.postgres); });
}

// No reason ever carries a password: neither the stack's nor a wrong one the DSN held.
void check_no_secret(const lg::probes::Component& c, const std::string& other = "wrong-Pass-4417") {
  CHECK_FALSE(contains(c.reason, password()));
  CHECK_FALSE(contains(c.reason, other));
  CHECK_FALSE(contains(c.target, password()));
}

// SQL as the superuser over the socket (trust), as scripts/services sets the stack up.
lgtest::CommandResult psql_super(const std::string& db, const std::string& sql) {
  return lgtest::run(lgtest::env("LG_PG_BIN") + "/psql -X -At -v ON_ERROR_STOP=1 -h " + lgtest::env("LG_PG_SOCKDIR") +
                         " -p " + lgtest::env("LG_PG_PORT") + " -U postgres -d " + db + " -c \"" + sql + "\"",
                     30);
}

std::string system_identifier() {
  auto r = psql_super("postgres", "SELECT system_identifier FROM pg_control_system()");
  REQUIRE(r.exit_code == 0);
  std::string id = r.out.substr(0, r.out.find('\n'));
  REQUIRE(id.size() > 10);
  return id;
}

// Holds ACCESS EXCLUSIVE on `agents` in `db` from a superuser session, as a running migration
// would; the lock is taken when the constructor returns, and the session is ended (lock
// released) by the destructor.
class AgentsLocked {
 public:
  explicit AgentsLocked(std::string database) : db(std::move(database)) {
    auto bg = lgtest::run("(" + lgtest::env("LG_PG_BIN") + "/psql -X -q -h " + lgtest::env("LG_PG_SOCKDIR") + " -p " +
                          lgtest::env("LG_PG_PORT") + " -U postgres -d " + db +
                          " -c 'BEGIN; LOCK TABLE letta.agents IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(20); COMMIT'"
                          " >/dev/null 2>&1 &)");
    REQUIRE(bg.exit_code == 0);
    bool held = false;
    for (int i = 0; i < 200 && !held; ++i) {
      held = count("mode = 'AccessExclusiveLock' AND granted") == "1";
      if (!held) std::this_thread::sleep_for(milliseconds(20));
    }
    REQUIRE(held);
  }
  ~AgentsLocked() {
    psql_super(db, "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND " + kAgents);
    for (int i = 0; i < 200 && count("true") != "0"; ++i) std::this_thread::sleep_for(milliseconds(20));
  }
  // Sessions of the probe (application_name lettagate) waiting for the lock.
  std::string waiting() {
    auto r = psql_super(db, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'lettagate' AND "
                            "wait_event_type = 'Lock'");
    return r.out.substr(0, r.out.find('\n'));
  }
  const std::string db;

 private:
  const std::string kAgents = "relation = 'letta.agents'::regclass";
  std::string count(const std::string& where) {
    auto r = psql_super(db, "SELECT count(*) FROM pg_locks WHERE " + where + " AND " + kAgents);
    return r.out.substr(0, r.out.find('\n'));
  }
};

// key=value DSN for the stack's database `db` (for blocking libpq clients of the test itself).
std::string kv_dsn(const std::string& db) {
  return "host=" + lgtest::env("LG_PG_HOST") + " port=" + lgtest::env("LG_PG_PORT") + " dbname=" + db +
         " user=letta password=" + password() + " connect_timeout=2";
}

// Connects to PostgreSQL with blocking libpq from a thread of its own, every few ms, until a
// connection's success is `ok`; at() is when that attempt began (the latest moment the old
// state was still seen), so a detection time measured from it is never underestimated.
class StateWatch {
 public:
  StateWatch(std::string conninfo, bool ok)
      : thread_([this, conninfo = std::move(conninfo), ok] {
          const auto deadline = Clock::now() + milliseconds(20000);
          while (!stop_ && Clock::now() < deadline) {
            const auto began = Clock::now();
            PGconn* c = PQconnectdb(conninfo.c_str());
            const bool connected = PQstatus(c) == CONNECTION_OK;
            PQfinish(c);
            if (connected == ok) {
              at_ = began;
              seen_ = true;
              return;
            }
            std::this_thread::sleep_for(milliseconds(3));
          }
        }) {}
  ~StateWatch() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  bool wait() {
    if (thread_.joinable()) thread_.join();
    return seen_;
  }
  Clock::time_point at() const { return at_; }

 private:
  std::atomic<bool> stop_{false};
  bool seen_ = false;
  Clock::time_point at_;
  std::thread thread_;
};

// A shell command run on a thread (the test polls meanwhile); wait() returns its exit code.
class BackgroundCommand {
 public:
  explicit BackgroundCommand(std::string cmd) : thread_([this, cmd = std::move(cmd)] { code_ = lgtest::run(cmd, 120).exit_code; }) {}
  ~BackgroundCommand() { wait(); }
  int wait() {
    if (thread_.joinable()) thread_.join();
    return code_;
  }

 private:
  int code_ = -1;
  std::thread thread_;
};

// Starts PostgreSQL again when the test leaves early (a failed REQUIRE) with it stopped.
struct RestartOnExit {
  bool armed = true;
  ~RestartOnExit() {
    if (armed) lgtest::run(lgtest::source_dir() + "/scripts/services start postgres", 120);
  }
};

}  // namespace

TEST_CASE("postgres: healthy Letta database is up with pgvector, agents and identity", "[stack][postgres]") {
  auto h = pg_harness(dsn("letta"), {"--min-agents", "3"});
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "ok");
  CHECK(c.status == Status::Up);
  CHECK(c.facts.pgvector.value() == "0.8.0");
  CHECK(c.facts.agents == std::stoll(lgtest::env("LG_PG_AGENTS")));
  CHECK(c.facts.system_identifier.value() == system_identifier());
  CHECK(contains(c.facts.server_version.value(), "15."));
  CHECK(contains(c.reason, "PostgreSQL 15."));
  CHECK(contains(c.reason, "pgvector 0.8.0, 3 live agents"));
  CHECK(c.target == "postgresql://letta:***@" + server() + "/letta");
  check_no_secret(c);
}

TEST_CASE("postgres: stopped server is refused, named by database and address", "[stack][serial][postgres]") {
  lgtest::ServiceStopped stopped("postgres");
  auto h = pg_harness(dsn("letta"));
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "refused");
  CHECK(c.reason == "connection refused (database letta at " + server() + ")");
  CHECK(c.status == Status::Down);
  check_no_secret(c);
}

TEST_CASE("postgres: wrong password is auth_failed and the reason holds no password", "[stack][postgres]") {
  auto h = pg_harness(dsn("letta", "wrong-Pass-4417"));
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "auth_failed");
  CHECK(c.reason == "password authentication failed for user \"letta\" (database letta at " + server() + ")");
  check_no_secret(c);
  CHECK(c.target == "postgresql://letta:***@" + server() + "/letta");
}

TEST_CASE("postgres: a missing database is database_missing", "[stack][postgres]") {
  auto h = pg_harness(dsn("letta_gone"));
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "database_missing");
  CHECK(contains(c.reason, "database \"letta_gone\" does not exist"));
  CHECK(contains(c.reason, server()));
  check_no_secret(c);
}

TEST_CASE("postgres: an unresolvable host is dns (resolved off the loop)", "[stack][postgres]") {
  auto h = pg_harness("postgresql://letta:" + password() + "@no-such-host.invalid:5432/letta");
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "dns");
  CHECK(contains(c.reason, "cannot resolve host no-such-host.invalid"));
  CHECK(contains(c.reason, "database letta at no-such-host.invalid:5432"));
  check_no_secret(c);
}

TEST_CASE("postgres: a name with several addresses, the first refused, still connects", "[stack][postgres]") {
  // localhost is ::1 and 127.0.0.1 here; PostgreSQL listens on 127.0.0.1 only, so libpq's first
  // socket is refused and it moves to a new one (often with the same fd number).
  auto h = pg_harness("host=localhost port=" + lgtest::env("LG_PG_PORT") + " dbname=letta user=letta password=" + password());
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "ok");
  CHECK(c.target == "host=localhost port=" + lgtest::env("LG_PG_PORT") + " dbname=letta user=letta password=***");
}

TEST_CASE("postgres: database without the vector extension is extension_missing", "[stack][postgres]") {
  const std::string db = lgtest::env("LG_PG_DB_NOVECTOR");
  auto h = pg_harness(dsn(db));
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "extension_missing");
  CHECK(c.reason == "pgvector extension `vector` is not installed in database " + db + " at " + server());
  check_no_secret(c);

  auto optional = pg_harness(dsn(db), {"--require-pgvector=false"});
  const auto& o = optional->first_result();
  INFO(o.reason);
  CHECK(o.reason_code == "ok");
  CHECK(contains(o.reason, "no pgvector, 3 live agents"));
}

TEST_CASE("postgres: database without Letta's tables is schema_not_migrated", "[stack][postgres]") {
  const std::string db = lgtest::env("LG_PG_DB_UNMIGRATED");
  auto h = pg_harness(dsn(db));
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "schema_not_migrated");
  CHECK(c.reason == "Letta schema not migrated: table agents not found (search_path letta) in database " + db +
                        " at " + server());
  check_no_secret(c);

  auto off = pg_harness(dsn(db), {"--data-guard=false"});
  const auto& o = off->first_result();
  INFO(o.reason);
  CHECK(o.reason_code == "ok");
}

TEST_CASE("postgres: fewer live agents than required is too_few_agents", "[stack][postgres]") {
  const std::string fresh = lgtest::env("LG_PG_DB_FRESH");
  auto h = pg_harness(dsn(fresh), {"--min-agents", "3"});
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "too_few_agents");
  CHECK(c.reason == fresh + " database at " + server() +
                        " has 0 live agents, expected at least 3: is this a fresh Letta instance?");
  CHECK(c.facts.agents == 0);
  check_no_secret(c);

  // --min-agents 0 (the default): an empty database is no failure (docs/operations.md).
  auto any = pg_harness(dsn(fresh), {"--min-agents", "0"});
  INFO(any->first_result().reason);
  CHECK(any->first_result().reason_code == "ok");
  CHECK(contains(any->first_result().reason, ", 0 live agents"));

  // The deleted agent in `letta` does not count: 3 live, 4 required.
  auto four = pg_harness(dsn("letta"), {"--min-agents", "4"});
  const auto& f = four->first_result();
  INFO(f.reason);
  CHECK(f.reason_code == "too_few_agents");
  CHECK(f.reason == "letta database at " + server() +
                        " has 3 live agents, expected at least 4: is this a fresh Letta instance?");
}

TEST_CASE("postgres: identity pin, matched and mismatched", "[stack][postgres]") {
  const std::string real = system_identifier();
  auto wrong = pg_harness(dsn("letta"), {"--postgres-identity", "7000000000000000001"});
  const auto& c = wrong->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "identity_mismatch");
  CHECK(c.reason == "database identity changed at " + server() + ": system identifier " + real +
                        ", pinned 7000000000000000001: this is a different PostgreSQL cluster (a new, empty one?)");
  CHECK(c.facts.system_identifier.value() == real);

  auto right = pg_harness(dsn("letta"), {"--postgres-identity", real});
  const auto& r = right->first_result();
  INFO(r.reason);
  CHECK(r.reason_code == "ok");
  CHECK(contains(r.reason, "identity as pinned"));
}

TEST_CASE("postgres: a role that may not call pg_control_system() is told so", "[stack][serial][postgres]") {
  // PostgreSQL 15 grants EXECUTE to PUBLIC (scripts/services checks it); revoke it in one
  // database for this test and grant it back whatever happens.
  const std::string db = lgtest::env("LG_PG_DB_FRESH");
  struct Revoked {
    std::string db;
    ~Revoked() { psql_super(db, "GRANT EXECUTE ON FUNCTION pg_control_system() TO PUBLIC"); }
  } guard{db};
  auto r = psql_super(db, "REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC");
  INFO(r.out);
  REQUIRE(r.exit_code == 0);

  auto pinned = pg_harness(dsn(db), {"--postgres-identity", system_identifier()});
  const auto& c = pinned->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "permission_denied");
  CHECK(contains(c.reason, "cannot check the pinned identity: permission denied for function pg_control_system"));
  CHECK(contains(c.reason, "GRANT EXECUTE ON FUNCTION pg_control_system() TO letta"));

  auto unpinned = pg_harness(dsn(db));
  const auto& u = unpinned->first_result();
  INFO(u.reason);
  CHECK(u.reason_code == "ok");
  CHECK(contains(u.reason, "system identifier unreadable: permission denied"));
  CHECK(!u.facts.system_identifier.has_value());
}

TEST_CASE("postgres: a locked agents table is answered by the server before the timeout", "[stack][serial][postgres]") {
  // The probe's lock_timeout (half of 3/4 of the 1s probe timeout) makes PostgreSQL answer 55P03
  // instead of the runner giving up with a plain timeout.
  AgentsLocked lock(lgtest::env("LG_PG_DB_FRESH"));
  auto h = pg_harness(dsn(lock.db), {}, "1s");
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "locked");
  CHECK(contains(c.reason, "canceling statement due to lock timeout"));
  CHECK(contains(c.reason, "is a migration holding a lock?"));
  CHECK(c.last_latency_s < 1.0);
}

TEST_CASE("postgres: a server that never answers is cut by the runner's timeout", "[stack][postgres]") {
  lgtest::SilentListener silent;
  auto h = pg_harness("postgresql://letta:" + password() + "@127.0.0.1:" + std::to_string(silent.port()) + "/letta",
                      {}, "300ms");
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "timeout");
  CHECK(c.last_latency_s >= 0.29);
  CHECK(c.last_latency_s < 1.0);
  // The cancelled attempt closed its socket: the server side reads libpq's first message, then EOF.
  std::string sent = silent.drain_client(2000);
  CHECK(sent != "timeout");
  CHECK(sent.size() == 8);  // SSLRequest (sslmode=prefer), never answered
}

TEST_CASE("postgres: cancel while connecting calls no done and leaves nothing behind", "[stack][postgres]") {
  lgtest::SilentListener silent;
  lgtest::TestLoop l;
  lg::config::Config cfg =
      pg_config("postgresql://letta:" + password() + "@127.0.0.1:" + std::to_string(silent.port()) + "/letta");
  auto probe = lg::probes::make_probe(l.get(), cfg.postgres);
  int calls = 0;
  probe->start([&](lg::probes::Outcome) { ++calls; });
  l.run_for(milliseconds(200));  // connected, waiting for the server
  CHECK(calls == 0);
  probe->cancel();
  probe.reset();
  CHECK(l.close());  // every handle closed, nothing pending (LeakSanitizer checks the memory)
  CHECK(calls == 0);
  CHECK(silent.drain_client(2000).size() == 8);
}

TEST_CASE("postgres: cancel at once and while resolving leaves nothing behind", "[stack][postgres]") {
  for (const bool resolving : {false, true}) {
    DYNAMIC_SECTION((resolving ? "while resolving" : "at once")) {
      lgtest::TestLoop l;
      // localhost is a name: resolved with uv_getaddrinfo on libuv's thread pool.
      lg::config::Config cfg = pg_config(resolving ? "host=localhost port=" + lgtest::env("LG_PG_PORT") +
                                                         " dbname=letta user=letta password=" + password()
                                                   : dsn("letta"));
      auto probe = lg::probes::make_probe(l.get(), cfg.postgres);
      int calls = 0;
      probe->start([&](lg::probes::Outcome) { ++calls; });
      if (resolving) uv_run(l.get(), UV_RUN_NOWAIT);  // the lookup is now queued or running
      probe->cancel();
      probe.reset();
      CHECK(l.close());
      CHECK(calls == 0);
    }
  }
}

TEST_CASE("postgres: cancel while the query waits on the server leaves nothing behind", "[stack][serial][postgres]") {
  AgentsLocked lock(lgtest::env("LG_PG_DB_FRESH"));
  lgtest::TestLoop l;
  lg::config::Config cfg = pg_config(dsn(lock.db), {}, "4s");
  auto probe = lg::probes::make_probe(l.get(), cfg.postgres);
  int calls = 0;
  probe->start([&](lg::probes::Outcome) { ++calls; });
  // Run the loop until the probe's query waits for the lock on agents (seen from the server).
  auto deadline = Clock::now() + milliseconds(5000);
  bool waiting = false;
  while (!waiting && Clock::now() < deadline) {
    l.run_for(milliseconds(20));
    waiting = lock.waiting() == "1";
  }
  REQUIRE(waiting);
  CHECK(calls == 0);
  probe->cancel();
  probe.reset();
  CHECK(l.close());
  CHECK(calls == 0);
  // PQfinish ended the session: the server forgets the waiting query.
  for (int i = 0; i < 100 && lock.waiting() != "0"; ++i) std::this_thread::sleep_for(milliseconds(20));
  CHECK(lock.waiting() == "0");
}

TEST_CASE("postgres: lettagate serve's /readyz follows PostgreSQL stopping and starting in time",
          "[stack][serial][postgres]") {
  // Detection is measured from the moment PostgreSQL itself changed, as a client sees it
  // (StateWatch), not from the return of scripts/services, which waits for the stop or start.
  // The probe timeout is long enough that a busy machine does not turn a refusal into a
  // timeout (a refused connect answers in well under a millisecond when the loop gets to run).
  const int interval = 500, timeout = 500, fall = 2, rise = 2, margin = 500;
  const int port = lgtest::free_port();
  lgtest::Process gate("serve --listen 127.0.0.1:" + std::to_string(port) + " --postgres-dsn " + dsn("letta") +
                       " --letta-url off --redis-url off --nginx-url off --forward off --probe-interval " +
                       std::to_string(interval) + "ms --probe-timeout " + std::to_string(timeout) +
                       "ms --probe-fall " + std::to_string(fall) + " --probe-rise " + std::to_string(rise));
  REQUIRE(lgtest::wait_live(port));
  auto wait_status = [&](int status, int within_ms) {
    auto deadline = Clock::now() + milliseconds(within_ms);
    lgtest::HttpResult r;
    while (Clock::now() < deadline) {
      r = lgtest::http_get(port, "/readyz", 500);
      if (r.status == status) break;
      std::this_thread::sleep_for(milliseconds(5));
    }
    return std::make_pair(r, Clock::now());
  };
  auto ms_between = [](Clock::time_point a, Clock::time_point b) {
    return static_cast<long long>(std::chrono::duration_cast<milliseconds>(b - a).count());
  };
  auto [ready, ready_at] = wait_status(200, 5000);
  INFO(ready.body << "\n" << gate.log());
  REQUIRE(ready.status == 200);

  RestartOnExit restart_guard;
  Clock::time_point failing_at, down_at;
  lgtest::HttpResult down;
  {
    StateWatch failing(kv_dsn("letta"), false);
    BackgroundCommand stop(lgtest::source_dir() + "/scripts/services stop postgres");
    std::tie(down, down_at) = wait_status(503, 10000);
    REQUIRE(stop.wait() == 0);
    REQUIRE(failing.wait());
    failing_at = failing.at();
  }
  const long long down_ms = ms_between(failing_at, down_at);
  INFO("503 " << down_ms << " ms after PostgreSQL stopped accepting clients: " << down.body);
  REQUIRE(down.status == 503);
  CHECK(contains(down.body, "\"postgres\""));
  // The first failing attempt meets PostgreSQL somewhere in its fast shutdown: refused, "the
  // database system is shutting down", a backend cut by the shutdown ("server closed the
  // connection unexpectedly"), or, on a loaded machine, a postmaster busy with its shutdown
  // checkpoint past the timeout. Each is a true reason; what matters is below (503 in time,
  // naming the database and not the password).
  CHECK((contains(down.body, "connection refused") || contains(down.body, "shutting down") ||
         contains(down.body, "closed the connection unexpectedly") || contains(down.body, "(timeout)")));
  CHECK(contains(down.body, "database letta at " + server()));
  CHECK_FALSE(contains(down.body, password()));
  CHECK(down_ms <= interval * fall + timeout + margin);

  Clock::time_point working_at, up_at;
  lgtest::HttpResult up;
  {
    StateWatch working(kv_dsn("letta"), true);
    BackgroundCommand start(lgtest::source_dir() + "/scripts/services start postgres");
    std::tie(up, up_at) = wait_status(200, 15000);
    REQUIRE(start.wait() == 0);
    restart_guard.armed = false;
    REQUIRE(working.wait());
    working_at = working.at();
  }
  const long long up_ms = ms_between(working_at, up_at);
  INFO("200 " << up_ms << " ms after PostgreSQL accepted again: " << up.body << "\n" << gate.log());
  REQUIRE(up.status == 200);
  CHECK(up_ms <= interval * rise + timeout + margin);
  std::fprintf(stderr,
               "postgres stop: /readyz 503 %lld ms after the first failing client (bound %d + %d ms); start: "
               "/readyz 200 %lld ms after the first accepted client (bound %d + %d ms)\n",
               down_ms, interval * fall + timeout, margin, up_ms, interval * rise + timeout, margin);
}
