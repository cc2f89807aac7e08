// `lettagate wait` as users run it: the real binary against the LG_* stack (scripts/services).
// Ready, not ready for each component (closed port, stopped service, wrong password), the
// timeout, bad configuration, --json, the live table in a real pty, Ctrl-C, and no secret in
// any output.
#include <signal.h>
#include <unistd.h>

#include <cstdio>

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "support/test_env.hpp"

namespace {

using Clock = std::chrono::steady_clock;

std::string bin() { return lgtest::binary(); }

// Every component against the real stack. The probe timeout is a second, not less: a new
// PostgreSQL backend (a fork and SCRAM on both sides) under ASan on a loaded 2-core machine took
// over 300 ms, and the wait tests then saw postgres "down" for 20 s. Components that are down are
// probed again every 250 ms (--probe-down-interval), so the interval does not slow the tests.
std::string stack_args() {
  return " --letta-url " + lgtest::env("LG_LETTA_URL") + " --postgres-dsn '" + lgtest::env("LG_PG_DSN") + "'" +
         " --redis-url redis://127.0.0.1:" + lgtest::env("LG_REDIS_AUTH_PORT") + " --redis-password '" +
         lgtest::env("LG_REDIS_PASSWORD") + "'" + " --nginx-url " + lgtest::env("LG_NGINX_URL") +
         " --probe-interval 1s --probe-timeout 1s ";
}

std::string closed_port() { return std::to_string(lgtest::free_port()); }

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The summary-table row of `name` (the last line that starts with it).
std::string row(const std::string& out, const std::string& name) {
  std::istringstream in(out);
  std::string line, found;
  while (std::getline(in, line))
    if (line.rfind(name + " ", 0) == 0) found = line;
  return found;
}

void expect_no_secrets(const std::string& out) {
  CHECK_FALSE(contains(out, lgtest::env("LG_PG_PASSWORD")));
  CHECK_FALSE(contains(out, lgtest::env("LG_REDIS_PASSWORD")));
}

struct Timed {
  lgtest::CommandResult r;
  long ms = 0;
};
Timed timed_run(const std::string& command, int timeout_s = 60) {
  auto start = Clock::now();
  Timed t;
  t.r = lgtest::run(command, timeout_s);
  t.ms = static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
  return t;
}

// The Letta stand-in in `mode` for the guard's lifetime; back to "ok" afterwards, also on failure.
class LettaMode {
 public:
  explicit LettaMode(const std::string& mode) {
    auto r = set(mode);
    INFO("stand-in mode " << mode << ": " << r.out);
    REQUIRE(r.out == mode);
  }
  ~LettaMode() { set("ok"); }
  LettaMode(const LettaMode&) = delete;
  LettaMode& operator=(const LettaMode&) = delete;
  static lgtest::CommandResult set(const std::string& mode) {
    return lgtest::run("curl -sS --max-time 5 -X POST --data '" + mode + "' " + lgtest::env("LG_LETTA_URL") +
                           "/_standin/mode",
                       10);
  }
};

// A service stopped for the guard's lifetime and started again afterwards, also on failure.
class Stopped {
 public:
  explicit Stopped(std::string name) : name_(std::move(name)) { lgtest::services("stop " + name_); }
  ~Stopped() { lgtest::run(lgtest::source_dir() + "/scripts/services start " + name_, 120); }
  Stopped(const Stopped&) = delete;
  Stopped& operator=(const Stopped&) = delete;

 private:
  std::string name_;
};

}  // namespace

TEST_CASE("wait: ready against the real stack, plain output when not a terminal", "[stack][wait]") {
  auto t = timed_run(bin() + " wait --timeout 20s" + stack_args());
  INFO(t.r.out);
  CHECK(t.r.exit_code == 0);
  CHECK(t.ms < 10000);
  CHECK_FALSE(contains(t.r.out, "\x1b["));  // a pipe gets no ANSI sequences
  CHECK(contains(t.r.out, "COMPONENT"));
  for (const char* c : {"letta", "postgres", "redis", "nginx"}) {
    INFO(c);
    CHECK(contains(row(t.r.out, c), " up "));
    // One line per state change, the last one to up (a first attempt cut by the 300 ms timeout
    // on a loaded machine makes it unknown -> down -> up).
    CHECK(std::regex_search(t.r.out, std::regex(std::string("\\] ") + c + ": (unknown|down) -> up")));
  }
  CHECK(contains(row(t.r.out, "letta"), "0.16.7"));
  CHECK(contains(t.r.out, "lettagate wait: ready after"));
  expect_no_secrets(t.r.out);
}

TEST_CASE("wait: not ready when any one component is unreachable", "[stack][wait]") {
  struct Case {
    std::string name, flag;
  };
  const std::string port = closed_port();
  for (const Case& c : {Case{"letta", "--letta-url http://127.0.0.1:" + port},
                        Case{"postgres", "--postgres-dsn 'postgresql://letta:x@127.0.0.1:" + port + "/letta'"},
                        Case{"redis", "--redis-url redis://127.0.0.1:" + port},
                        Case{"nginx", "--nginx-url http://127.0.0.1:" + port}}) {
    INFO("component " << c.name);
    auto t = timed_run(bin() + " wait --timeout 2s" + stack_args() + c.flag);
    INFO(t.r.out);
    CHECK(t.r.exit_code == 1);
    CHECK(t.ms >= 1900);
    CHECK(t.ms < 6000);
    CHECK(contains(row(t.r.out, c.name), " down "));
    // The reason names what failed where (each probe words its own error).
    CHECK(contains(row(t.r.out, c.name), "127.0.0.1:" + port));
    CHECK(contains(t.r.out, "(timeout 2s): waiting for " + c.name + " (down: "));
    CHECK(contains(t.r.out, "lettagate wait: not ready after 2."));
    expect_no_secrets(t.r.out);
  }
}

TEST_CASE("wait: not ready when a service is stopped, ready once it is back", "[stack][serial][wait]") {
  {
    Stopped redis("redis");
    auto t = timed_run(bin() + " wait --timeout 2s" + stack_args() + " --redis-url redis://127.0.0.1:" +
                       lgtest::env("LG_REDIS_PORT") + " --redis-password ''");
    INFO(t.r.out);
    CHECK(t.r.exit_code == 1);
    CHECK(contains(row(t.r.out, "redis"), " down "));
    CHECK(contains(row(t.r.out, "redis"), "refused"));
  }
  {
    Stopped letta("letta");
    auto t = timed_run(bin() + " wait --timeout 2s" + stack_args() + " --nginx-url off");
    INFO(t.r.out);
    CHECK(t.r.exit_code == 1);
    CHECK(contains(row(t.r.out, "letta"), " down "));
    CHECK(contains(row(t.r.out, "letta"), "refused"));
  }
  auto back = lgtest::run(bin() + " wait --timeout 20s" + stack_args());
  INFO(back.out);
  CHECK(back.exit_code == 0);
}

TEST_CASE("wait: a wrong password is not ready, with the reason and without the password", "[stack][wait]") {
  const std::string pg_bad = "postgresql://letta:wrong-" + lgtest::env("LG_PG_PASSWORD") + "@127.0.0.1:" +
                             lgtest::env("LG_PG_PORT") + "/letta";
  auto t = timed_run(bin() + " wait --timeout 2s --log-level debug" + stack_args() + " --postgres-dsn '" + pg_bad +
                     "' --redis-password 'wrong-" + lgtest::env("LG_REDIS_PASSWORD") + "'");
  INFO(t.r.out);
  CHECK(t.r.exit_code == 1);
  CHECK(contains(row(t.r.out, "postgres"), " down "));
  CHECK(contains(row(t.r.out, "postgres"), "password authentication failed"));
  CHECK(contains(row(t.r.out, "redis"), " down "));
  CHECK(contains(row(t.r.out, "redis"), "password"));
  expect_no_secrets(t.r.out);  // also the debug logs (stderr is in t.r.out)
}

TEST_CASE("wait: the timeout is respected", "[stack][wait]") {
  auto t = timed_run(bin() + " wait --timeout 1500ms --json" + stack_args() + " --letta-url http://127.0.0.1:" +
                     closed_port() + " 2>/dev/null");
  INFO(t.r.out);
  CHECK(t.r.exit_code == 1);
  CHECK(t.ms >= 1450);
  CHECK(t.ms < 4000);
  auto j = nlohmann::json::parse(t.r.out);
  CHECK(j["elapsed_ms"].get<int>() >= 1500);
  CHECK(j["elapsed_ms"].get<int>() < 2500);
  CHECK(j["timeout_ms"] == 1500);
}

TEST_CASE("wait: bad configuration exits 2 and names the setting", "[stack][wait]") {
  struct Case {
    std::string cmd, named;
  };
  for (const Case& c : {Case{bin() + " wait --probe-interval soon", "--probe-interval (LETTAGATE_PROBE_INTERVAL)"},
                        Case{"LETTAGATE_REDIS_URL=http://x:1 " + bin() + " wait", "--redis-url (LETTAGATE_REDIS_URL)"},
                        Case{bin() + " wait --letta-interval 1s --letta-timeout 5s", "--letta-timeout"},
                        Case{bin() + " wait --timeout soon", "--timeout"},
                        Case{bin() + " wait --timeout 0", "--timeout"},
                        Case{bin() + " wait --bogus", "--bogus"},
                        Case{bin() + " wait --json --quiet", "--quiet"}}) {
    auto r = lgtest::run(c.cmd);
    INFO(c.cmd << "\n" << r.out);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.out, c.named));
  }
  // A DSN libpq refuses: named, and its password is not echoed.
  auto r = lgtest::run(bin() + " wait --postgres-dsn 'postgresql://letta:" + lgtest::env("LG_PG_PASSWORD") +
                       "@127.0.0.1:1/letta?nosuchoption=1'");
  INFO(r.out);
  CHECK(r.exit_code == 2);
  CHECK(contains(r.out, "--postgres-dsn (LETTAGATE_POSTGRES_DSN)"));
  expect_no_secrets(r.out);
}

TEST_CASE("wait: --json is one document with status, elapsed_ms and every component", "[stack][wait]") {
  auto ok = lgtest::run(bin() + " wait --timeout 20s --json" + stack_args() + " 2>/dev/null");
  INFO(ok.out);
  REQUIRE(ok.exit_code == 0);
  auto j = nlohmann::json::parse(ok.out);  // the whole stdout: one document, nothing else
  CHECK(j["status"] == "ready");
  CHECK(j["degraded"] == false);
  CHECK(j["elapsed_ms"].is_number_integer());
  for (const char* name : {"letta", "postgres", "redis", "nginx"}) {
    INFO(name);
    const auto& c = j["components"][name];
    CHECK(c["status"] == "up");
    CHECK(c["reason"].is_string());
    CHECK(c["latency_ms"].is_number());
    CHECK(c["latency_ms"].get<double>() >= 0);
    CHECK(c["required"] == true);
  }
  CHECK(j["components"]["letta"]["info"]["version"] == "0.16.7");

  // An optional component that is down: still ready (exit 0), degraded.
  auto opt = lgtest::run(bin() + " wait --timeout 20s --json" + stack_args() + " --redis-url redis://127.0.0.1:" +
                         closed_port() + " --redis-required=false 2>/dev/null");
  INFO(opt.out);
  CHECK(opt.exit_code == 0);
  auto o = nlohmann::json::parse(opt.out);
  CHECK(o["status"] == "ready");
  CHECK(o["degraded"] == true);
  CHECK(o["components"]["redis"]["status"] == "down");
  CHECK(o["components"]["redis"]["required"] == false);
  CHECK(o["components"]["redis"]["reason_code"] == "refused");

  // Not ready: the failing component says why.
  auto bad = lgtest::run(bin() + " wait --timeout 3s --json" + stack_args() + " --nginx-url http://127.0.0.1:" +
                         closed_port() + " 2>/dev/null");
  INFO(bad.out);
  CHECK(bad.exit_code == 1);
  auto b = nlohmann::json::parse(bad.out);
  CHECK(b["status"] == "not_ready");
  CHECK(b["components"]["nginx"]["status"] == "down");
  CHECK(contains(b["components"]["nginx"]["reason"].get<std::string>(), "refused"));
  CHECK(b["components"]["letta"]["status"] == "up");
  expect_no_secrets(ok.out + opt.out + bad.out);
}

TEST_CASE("wait: one success after a failure is enough unless --probe-rise is set", "[stack][serial][wait]") {
  // Letta answers 500 first (the runner logs it down, a warning), then ok: with rise 1 the first
  // success ends the wait; with an explicit --probe-rise 3 it takes three in a row.
  for (int rise : {0, 3}) {
    INFO("rise " << rise);
    LettaMode failing("500");
    lgtest::Process wait("wait --timeout 20s --json --postgres-dsn off --redis-url off --nginx-url off --letta-url " +
                         lgtest::env("LG_LETTA_URL") + " --probe-interval 200ms --probe-timeout 200ms --log-level warn" +
                         (rise ? " --probe-rise " + std::to_string(rise) : std::string()));
    REQUIRE(wait.wait_log("-> down", 10000));
    REQUIRE(LettaMode::set("ok").out == "ok");
    const int code = wait.wait(15000);
    INFO(wait.log());
    CHECK(code == 0);
    const std::string log = wait.log();
    const auto doc = log.find("{\n  \"components\"");  // the JSON document, after the log lines
    REQUIRE(doc != std::string::npos);
    auto j = nlohmann::json::parse(log.substr(doc));
    CHECK(j["components"]["letta"]["consecutive_successes"] == (rise ? rise : 1));
  }
}

TEST_CASE("wait: Ctrl-C stops it cleanly with exit 1", "[stack][wait]") {
  lgtest::Process wait("wait --timeout 60s" + stack_args() + " --letta-url http://127.0.0.1:" + closed_port());
  REQUIRE(wait.wait_log("-> down", 10000));  // it runs, and has seen Letta down
  auto start = Clock::now();
  wait.signal(SIGINT);
  const int code = wait.wait(5000);
  INFO(wait.log());
  CHECK(code == 1);
  CHECK(Clock::now() - start < std::chrono::seconds(3));
  CHECK(contains(wait.log(), "interrupted after"));
  CHECK(contains(row(wait.log(), "letta"), " down "));
}

TEST_CASE("wait: a live table redrawn in place on a terminal", "[stack][wait]") {
  // script(1) runs the command in a real pty; -e returns its exit code.
  auto ready = lgtest::run("script -qefc \"" + bin() + " wait --timeout 20s" + stack_args() + "\" /dev/null", 60);
  INFO(ready.out);
  CHECK(ready.exit_code == 0);
  CHECK(contains(ready.out, "\x1b[2K"));           // lines cleared before rewriting
  CHECK(contains(ready.out, "\x1b[32mup"));        // state in colour, and as a word
  CHECK(contains(ready.out, "ready after"));
  CHECK(contains(ready.out, "COMPONENT"));
  expect_no_secrets(ready.out);

  // Not ready for 1.5 s: the table is redrawn (cursor up 6 lines: headline, header, 4 rows).
  // A wide terminal (the pty of script(1) has no size: 80 columns), so the verdict is not cut.
  auto down = lgtest::run("script -qefc \"stty cols 200; " + bin() + " wait --timeout 1500ms" + stack_args() +
                              " --redis-url redis://127.0.0.1:" + closed_port() + "\" /dev/null",
                          60);
  INFO(down.out);
  CHECK(down.exit_code == 1);
  CHECK(contains(down.out, "\x1b[6A"));
  CHECK(contains(down.out, "\x1b[31mdown"));
  CHECK(contains(down.out, "refused"));
  // The verdict comes at the timeout's first loop turn: 1.5 s, later on a busy machine or under ASan.
  CHECK(std::regex_search(down.out, std::regex("not ready after (1\\.[5-9]|[2-9]\\.[0-9])")));
  CHECK(contains(down.out, "(timeout 1500ms): waiting for redis (down: connection refused by 127.0.0.1:"));
  // Warnings stay off the terminal under the live table (it shows every state change itself).
  CHECK_FALSE(contains(down.out, "warning"));
  expect_no_secrets(down.out);
}

TEST_CASE("wait: on a narrow terminal the last table and the verdict give every reason whole", "[stack][wait]") {
  // 60 columns: while waiting, rows are cut to the width (in-place redraw); the last table is
  // not redrawn, so its reasons are whole, and the verdict says why redis is not ready.
  const std::string port = closed_port();
  auto down = lgtest::run("script -qefc \"stty cols 60; " + bin() + " wait --timeout 1500ms" + stack_args() +
                              " --redis-url redis://127.0.0.1:" + port + "\" /dev/null",
                          60);
  INFO(down.out);
  CHECK(down.exit_code == 1);
  const std::string reason = "connection refused by 127.0.0.1:" + port;
  CHECK(std::regex_search(down.out, std::regex("redis +\\x1b\\[31mdown.*" + reason)));  // the table row, whole
  CHECK(contains(down.out, "waiting for redis (down: " + reason + ")"));
  CHECK(contains(down.out, "\x1b[J"));  // the screen below cleared before the whole lines
  expect_no_secrets(down.out);
}

TEST_CASE("wait: without a terminal each state change is said once, on stdout", "[stack][wait]") {
  char path[] = "/tmp/lettagate-wait-stderr-XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  auto t = timed_run(bin() + " wait --timeout 1500ms" + stack_args() + " --redis-url redis://127.0.0.1:" +
                     closed_port() + " 2>" + path);
  const std::string err = lgtest::run(std::string("cat ") + path).out;
  std::remove(path);
  INFO("stdout:\n" << t.r.out << "\nstderr:\n" << err);
  CHECK(t.r.exit_code == 1);
  CHECK(std::regex_search(t.r.out, std::regex("\\] redis: unknown -> down \\(")));
  CHECK(std::regex_search(t.r.out, std::regex("\\] letta: (unknown|down) -> up")));
  CHECK_FALSE(contains(err, "-> down"));  // not again as a log line
  CHECK_FALSE(contains(err, "-> up"));
}
