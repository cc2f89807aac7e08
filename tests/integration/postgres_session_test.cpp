// The Postgres probe's kept session (probes/pg_session.hpp) against the real PostgreSQL of
// scripts/services, driven by the real ProbeRunner: one backend serves kFreshEveryProbes probes
// and the next probe opens a fresh one (never two at once); a kept session's backend ended by
// pg_terminate_backend() is a passive signal: the runner probes again at once (not at its next
// interval), and the component stays up, since the server is fine. Backends are told apart by
// their pid in pg_stat_activity, under an application_name of this test's own.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "integration/probe_harness.hpp"
#include "probes/factories.hpp"
#include "probes/pg_session.hpp"

using lg::probes::Status;
using lgtest::ProbeHarness;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

std::string app_name(const char* what) { return std::string("lg_session_") + what + "_" + std::to_string(getpid()); }

std::string dsn(const std::string& app) {
  return "postgresql://letta:" + lgtest::env("LG_PG_PASSWORD") + "@" + lgtest::env("LG_PG_HOST") + ":" +
         lgtest::env("LG_PG_PORT") + "/letta?application_name=" + app;
}

std::unique_ptr<ProbeHarness> harness(const std::string& app, const char* interval, const char* timeout) {
  lg::config::Config cfg = lgtest::config_from(
      {"--postgres-dsn", dsn(app), "--postgres-interval", interval, "--postgres-timeout", timeout});
  return std::make_unique<ProbeHarness>(
      "postgres", cfg.postgres.schedule, [&](uv_loop_t* loop) { return lg::probes::make_probe(loop, cfg.postgres); });
}

// SQL as the superuser over the socket (trust); the output's lines.
std::vector<std::string> psql_lines(const std::string& sql) {
  auto r = lgtest::run(lgtest::env("LG_PG_BIN") + "/psql -X -At -v ON_ERROR_STOP=1 -h " + lgtest::env("LG_PG_SOCKDIR") +
                           " -p " + lgtest::env("LG_PG_PORT") + " -U postgres -d postgres -c \"" + sql + "\"",
                       30);
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> lines;
  for (size_t from = 0, nl; from < r.out.size(); from = nl + 1) {
    nl = r.out.find('\n', from);
    if (nl == std::string::npos) nl = r.out.size();
    if (nl > from) lines.push_back(r.out.substr(from, nl - from));
  }
  return lines;
}

// The pids of the backends serving `app` (the probe's sessions).
std::vector<std::string> backends(const std::string& app) {
  return psql_lines("SELECT pid FROM pg_stat_activity WHERE application_name = '" + app + "'");
}

}  // namespace

TEST_CASE("postgres session: one backend serves kFreshEveryProbes probes, then a fresh one", "[stack][postgres]") {
  const std::string app = app_name("reuse");
  auto h = harness(app, "500ms", "500ms");  // a fresh scram login under load can take 100+ ms
  std::vector<std::string> pids;
  for (int i = 0; i <= lg::probes::pg::kFreshEveryProbes; ++i) {
    const auto& c = h->first_result();
    INFO("probe " << i + 1 << ": " << c.reason);
    REQUIRE(c.reason_code == "ok");
    // Between probes (the loop is not running) the kept session is open and idle: one backend.
    const auto now = backends(app);
    REQUIRE(now.size() == 1);
    pids.push_back(now[0]);
  }
  for (int i = 1; i < lg::probes::pg::kFreshEveryProbes; ++i) {
    INFO("probe " << i + 1);
    CHECK(pids[i] == pids[0]);
  }
  CHECK(pids.back() != pids[0]);  // the fresh connection of the next round
}

TEST_CASE("postgres session: its backend terminated is a re-probe at once, and the component stays up",
          "[stack][postgres]") {
  const std::string app = app_name("terminate");
  auto h = harness(app, "5s", "2s");  // the next scheduled probe is 4.5-5 s away
  REQUIRE(h->first_result().status == Status::Up);
  const auto before = backends(app);
  REQUIRE(before.size() == 1);
  REQUIRE(psql_lines("SELECT pg_terminate_backend(" + before[0] + ")") == std::vector<std::string>{"t"});
  const auto t0 = Clock::now();
  const auto& c = h->run_results(1, milliseconds(2000));  // fails (REQUIRE) if only the interval brought it
  const auto ms = std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count();
  INFO(c.reason);
  CHECK(ms < 1000);
  CHECK(c.status == Status::Up);
  CHECK(c.reason_code == "ok");
  const auto after = backends(app);
  REQUIRE(after.size() == 1);
  CHECK(after[0] != before[0]);
}
