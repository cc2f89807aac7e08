// The lettagate binary's commands: check exit codes, version, help, config errors, JSON logs,
// and the SIGTERM stop.
#include <signal.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "integration/gate_harness.hpp"
#include "support/raw_conn.hpp"
#include "support/silent_listener.hpp"
#include "support/test_env.hpp"

namespace {

const std::string kAllOff = " --letta-url off --postgres-dsn off --redis-url off --nginx-url off --forward off ";

std::string bin() { return lgtest::binary(); }

}  // namespace

TEST_CASE("check: 0 when ready, 1 when not ready or unreachable, 2 on bad usage", "[stack][cli]") {
  int ready_port = lgtest::free_port();
  lgtest::Process ready("serve --listen 127.0.0.1:" + std::to_string(ready_port) + kAllOff);
  REQUIRE(lgtest::wait_live(ready_port));
  auto ok = lgtest::run(bin() + " check --url http://127.0.0.1:" + std::to_string(ready_port) + "/readyz");
  INFO(ok.out);
  CHECK(ok.exit_code == 0);
  CHECK_THAT(ok.out, Catch::StartsWith("ready "));

  // The default URL comes from LETTAGATE_LISTEN, 0.0.0.0 meaning this host.
  auto by_env = lgtest::run("LETTAGATE_LISTEN=0.0.0.0:" + std::to_string(ready_port) + " " + bin() + " check");
  CHECK(by_env.exit_code == 0);

  int down_port = lgtest::free_port();
  lgtest::Process not_ready("serve --listen 127.0.0.1:" + std::to_string(down_port) +
                            " --postgres-dsn off --redis-url off --nginx-url off --forward off --letta-url "
                            "http://127.0.0.1:" + std::to_string(lgtest::free_port()) +
                            " --probe-interval 500ms --probe-timeout 500ms");
  REQUIRE(lgtest::wait_live(down_port));
  // Wait for the refusal to be seen (bounded), not for a fixed time: on a busy machine the first
  // probe may come late. The timeout leaves a refused connect time to be reported as refused.
  bool refused = false;
  for (int i = 0; i < 200 && !refused; ++i) {
    refused = lgtest::http_get(down_port, "/readyz").body.find("connection refused") != std::string::npos;
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(refused);
  auto nr = lgtest::run(bin() + " check --url http://127.0.0.1:" + std::to_string(down_port) + "/readyz");
  INFO(nr.out);
  CHECK(nr.exit_code == 1);
  CHECK_THAT(nr.out, Catch::Contains("HTTP 503"));
  CHECK_THAT(nr.out, Catch::Contains("connection refused"));

  auto nobody = lgtest::run(bin() + " check --url http://127.0.0.1:" + std::to_string(lgtest::free_port()) + "/readyz");
  CHECK(nobody.exit_code == 1);

  CHECK(lgtest::run(bin() + " check --url ftp://x").exit_code == 2);
  CHECK(lgtest::run(bin() + " check --timeout soon").exit_code == 2);
  CHECK(lgtest::run(bin() + " check --bogus").exit_code == 2);
}

TEST_CASE("check gives up after its timeout on a server that never answers", "[stack][cli]") {
  // A listening socket nobody accepts from: connect succeeds, no answer ever comes.
  lgtest::SilentListener silent(8);
  auto start = std::chrono::steady_clock::now();
  auto r = lgtest::run(bin() + " check --timeout 500ms --url http://127.0.0.1:" + std::to_string(silent.port()) + "/readyz");
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  INFO(r.out);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("no answer within 500ms"));
  CHECK(ms < 3000);
}

TEST_CASE("version and help", "[stack][cli]") {
  auto v = lgtest::run(bin() + " version");
  CHECK(v.exit_code == 0);
  CHECK_THAT(v.out, Catch::StartsWith("lettagate 0."));
  auto h = lgtest::run(bin() + " --help");
  CHECK(h.exit_code == 0);
  CHECK_THAT(h.out, Catch::Contains("LETTAGATE_POSTGRES_DSN"));
  CHECK_THAT(h.out, Catch::Contains("lettagate check"));
  CHECK(lgtest::run(bin() + " frobnicate").exit_code == 2);
}

TEST_CASE("bad configuration exits 2 naming the setting, without secrets", "[stack][cli]") {
  auto r = lgtest::run("LETTAGATE_PROBE_INTERVAL=fast " + bin() + " serve");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.out, Catch::Contains("LETTAGATE_PROBE_INTERVAL"));
  auto s = lgtest::run(bin() + " serve --redis-url 'rediss://:topsecret@x:1'");
  CHECK(s.exit_code == 2);
  CHECK_THAT(s.out, Catch::Contains("--redis-url"));
  CHECK_THAT(s.out, !Catch::Contains("topsecret"));
}

TEST_CASE("a listen address in use fails the start with a clear message", "[stack][cli]") {
  // The two lines docs/operations.md quotes under "Port already in use": the health port, then
  // a forward route's port.
  const std::string port = std::to_string(lgtest::free_port());
  lgtest::Process first("serve --listen 127.0.0.1:" + port + kAllOff);
  REQUIRE(lgtest::wait_live(std::stoi(port)));
  lgtest::Process second("serve --listen 127.0.0.1:" + port + kAllOff);
  CHECK(second.wait(5000) == 1);
  CHECK_THAT(second.log(), Catch::Contains("cannot start: cannot listen on 127.0.0.1:" + port + ": address already in use"));
  const std::string route = "127.0.0.1:" + port + "=letta-server:8283";
  lgtest::Process third("serve --listen 127.0.0.1:" + std::to_string(lgtest::free_port()) +
                        " --letta-url off --postgres-dsn off --redis-url off --nginx-url off --forward-health off"
                        " --forward " + route);
  CHECK(third.wait(5000) == 1);
  CHECK_THAT(third.log(), Catch::Contains("cannot start: " + route + ": cannot listen on 127.0.0.1:" + port +
                                          ": address already in use"));
}

TEST_CASE("JSON logs: one object a line, component named, secrets redacted", "[stack][cli]") {
  int port = lgtest::free_port();
  lgtest::Process p("serve --log-format json --listen 127.0.0.1:" + std::to_string(port) +
                    " --postgres-dsn postgresql://letta:sup3rsecret@127.0.0.1:1/letta --redis-url off --nginx-url off"
                    " --forward off --letta-url http://127.0.0.1:1 --probe-interval 200ms --probe-timeout 100ms");
  REQUIRE(lgtest::wait_live(port));
  REQUIRE(p.wait_log(R"("component":"letta","msg":"unknown -> down)", 5000));  // the line looked for below
  p.signal(SIGTERM);
  CHECK(p.wait(5000) == 0);
  std::istringstream lines(p.log());
  std::string line;
  int parsed = 0;
  bool saw_letta_down = false;
  while (std::getline(lines, line)) {
    INFO(line);
    auto j = nlohmann::json::parse(line, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    CHECK(j.contains("ts"));
    CHECK(j.contains("level"));
    CHECK(j.contains("component"));
    if (j["component"] == "letta" && j["msg"].get<std::string>().find("-> down") != std::string::npos) saw_letta_down = true;
    ++parsed;
  }
  CHECK(parsed >= 3);
  CHECK(saw_letta_down);
  CHECK_THAT(p.log(), !Catch::Contains("sup3rsecret"));
}

TEST_CASE("state changes are logged once, not every tick", "[stack][cli]") {
  lgtest::Gate g("--postgres-dsn off --redis-url off --nginx-url off --letta-url http://127.0.0.1:1"
                 " --probe-interval 100ms --probe-timeout 50ms");
  // Ten failed probes, counted by the gate itself.
  CHECK(g.wait_status([](const nlohmann::json& s) { return lgtest::comp(s, "letta")["consecutive_failures"] >= 10; },
                      10000)
            .is_object());
  g.process->signal(SIGTERM);
  REQUIRE(g.process->wait(5000) == 0);
  std::string log = g.process->log();
  size_t count = 0;
  for (size_t pos = log.find("[letta]"); pos != std::string::npos; pos = log.find("[letta]", pos + 1)) ++count;
  INFO(log);
  CHECK(count == 1);
}

TEST_CASE("SIGTERM and SIGINT stop gracefully with exit 0", "[stack][cli]") {
  for (int sig : {SIGTERM, SIGINT}) {
    int port = lgtest::free_port();
    lgtest::Process p("serve --listen 127.0.0.1:" + std::to_string(port) + kAllOff);
    REQUIRE(lgtest::wait_live(port));
    auto start = std::chrono::steady_clock::now();
    p.signal(sig);
    CHECK(p.wait(5000) == 0);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
    CHECK_THAT(p.log(), Catch::Contains("draining"));
    CHECK_THAT(p.log(), Catch::Contains("stopped"));
  }
}

TEST_CASE("configuration mistakes exit 2 naming the setting the user gave", "[unit][cli]") {
  const std::string off = " --letta-url off --postgres-dsn off --redis-url off --nginx-url off ";
  struct Case {
    std::string command;
    std::string names;
    std::string not_named;
  };
  const std::vector<Case> cases{
      {"serve --listen localhost:18080" + off + "--forward off", "invalid --listen (LETTAGATE_LISTEN)", ""},
      {"serve --listen 127.0.0.1:18080" + off + "--forward localhost:18283=x:1", "invalid --forward (LETTAGATE_FORWARD)", ""},
      {"serve --listen 127.0.0.1:18080" + off + "--forward 127.0.0.1:18283=a:1 --forward 127.0.0.1:18283=b:2",
       "invalid --forward (LETTAGATE_FORWARD)", ""},
      {"wait --probe-interval 1s --probe-timeout 10s --letta-url off", "invalid --probe-timeout", "--letta-timeout"},
      {"serve --probe-interval 1s --probe-timeout 2s --letta-url off", "invalid --probe-timeout", "--letta-timeout"},
      {"serve --letta-url http://user:pw-Secret@letta:8283", "invalid --letta-url", "pw-Secret"},
  };
  for (const auto& c : cases) {
    auto r = lgtest::run(bin() + " " + c.command);
    INFO(c.command << "\n" << r.out);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.out, Catch::Contains(c.names));
    if (!c.not_named.empty()) CHECK_THAT(r.out, !Catch::Contains(c.not_named));
  }
  auto typo = lgtest::run("LETTAGATE_LETTA_URLL=http://x:1 " + bin() + " serve");
  CHECK(typo.exit_code == 2);
  CHECK_THAT(typo.out, Catch::Contains("LETTAGATE_LETTA_URLL: not a setting; did you mean LETTAGATE_LETTA_URL?"));
}
