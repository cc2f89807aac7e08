// A Letta run with LETTA_SERVER_SECURE=true (the stand-in's --secure-password): health and ready
// stay open, every other route (the streams the SSE check opens among them) answers 401 without
// `Authorization: Bearer <password>`. --letta-token sends it; without it the SSE check says why.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <thread>

#include "integration/probe_harness.hpp"
#include "probes/factories.hpp"

extern char** environ;

using lgtest::ProbeHarness;
using lg::probes::Status;

namespace {

const char* kPassword = "letta-Secure-8812";

// The stand-in on its own port, secured; stopped with the object. `letta_pg_uri`: the database
// its /v1/agents/count reads (LETTA_PG_URI, in its environment as Letta reads it; empty: none,
// the count is 0).
class SecureStandin {
 public:
  explicit SecureStandin(const std::string& letta_pg_uri = "") : port_(lgtest::free_port()) {
    const std::string script = lgtest::source_dir() + "/tests/standin/letta_standin.py";
    const std::string port = std::to_string(port_);
    std::vector<std::string> args{"python3", script, "--port", port, "--secure-password", kPassword};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);  // its request log
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e)
      if (std::string(*e).rfind("LETTA_PG_URI=", 0) != 0) env_strings.emplace_back(*e);
    if (!letta_pg_uri.empty()) env_strings.push_back("LETTA_PG_URI=" + letta_pg_uri);
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    REQUIRE(posix_spawnp(&pid_, "python3", &fa, nullptr, argv.data(), envp.data()) == 0);
    posix_spawn_file_actions_destroy(&fa);
    // Python's start takes seconds on a busy machine: up to 20 s. If it never answers, stop it
    // here (a failed constructor runs no destructor, and the child would hold ctest's pipe).
    bool up = false;
    for (int i = 0; i < 400 && !up; ++i) {
      up = lgtest::http_get(port_, "/v1/health/", 500).status == 200;
      if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!up) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    REQUIRE(up);
  }
  ~SecureStandin() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

 private:
  int port_;
  pid_t pid_ = -1;
};

std::unique_ptr<ProbeHarness> harness(const std::string& component, std::vector<std::string> args) {
  lg::config::Config cfg = lgtest::config_from(args);
  if (component == "letta")
    return std::make_unique<ProbeHarness>("letta", cfg.letta.schedule,
                                          [&](uv_loop_t* loop) { return lg::probes::make_probe(loop, cfg.letta); });
  return std::make_unique<ProbeHarness>("nginx", cfg.nginx.schedule,
                                        [&](uv_loop_t* loop) { return lg::probes::make_probe(loop, cfg.nginx); });
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("secured Letta: health is open, a guarded path needs --letta-token", "[stack][letta]") {
  SecureStandin letta;
  CHECK(lgtest::http_get(letta.port(), "/_standin/sse").status == 401);  // the stand-in really guards it
  std::vector<std::string> base{"--letta-url", letta.url(), "--letta-interval", "10s", "--letta-timeout", "5s"};
  {
    auto h = harness("letta", base);  // /v1/health/ needs no token
    CHECK(h->first_result().reason_code == "ok");
  }
  auto guarded = base;
  guarded.insert(guarded.end(), {"--letta-path", "/v1/agents/agent-1/messages", "--letta-method", "POST",
                                 "--letta-expect-status", "200,422", "--letta-expect-json", "off"});
  {
    auto h = harness("letta", guarded);
    const auto& c = h->first_result();
    INFO(c.reason);
    CHECK(c.reason_code == "http_status");
    CHECK(contains(c.reason, "401"));
  }
  guarded.insert(guarded.end(), {"--letta-token", kPassword});
  auto h = harness("letta", guarded);
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.status == Status::Up);
  CHECK_FALSE(contains(c.reason, kPassword));
  CHECK_FALSE(contains(c.target, kPassword));
}

TEST_CASE("secured Letta: --min-agents asks the agent count, 401 without --letta-token, the count with it",
          "[stack][letta]") {
  SecureStandin letta(lgtest::env("LG_PG_DSN"));
  CHECK(lgtest::http_get(letta.port(), "/v1/agents/count").status == 401);  // the route really is guarded
  std::vector<std::string> base{"--letta-url", letta.url(), "--letta-interval", "10s", "--letta-timeout", "5s",
                                "--min-agents", "1"};
  {
    auto h = harness("letta", base);
    const auto& c = h->first_result();
    INFO(c.reason);
    CHECK(c.status == Status::Down);
    CHECK(c.reason_code == "auth_failed");
    CHECK(contains(c.reason, "GET /v1/agents/count answered HTTP 401"));
    CHECK(contains(c.reason, "--letta-token"));
    CHECK(c.facts.version.has_value());  // the health answer's facts are kept
  }
  {
    auto wrong = base;
    wrong.insert(wrong.end(), {"--letta-token", "not-the-password"});
    auto h = harness("letta", wrong);
    const auto& c = h->first_result();
    INFO(c.reason);
    CHECK(c.reason_code == "auth_failed");
    CHECK(contains(c.reason, "refused"));
    CHECK_FALSE(contains(c.reason, "not-the-password"));
  }
  base.insert(base.end(), {"--letta-token", kPassword});
  auto h = harness("letta", base);
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.status == Status::Up);
  CHECK(c.facts.api_agents == std::stoll(lgtest::env("LG_PG_AGENTS")));
  CHECK(contains(c.reason, lgtest::env("LG_PG_AGENTS") + " agents"));
  CHECK_FALSE(contains(c.reason, kPassword));
}

TEST_CASE("secured Letta: the SSE check sends --letta-token, without it, not_sse names the 401", "[stack][nginx]") {
  SecureStandin letta;
  // The stand-in's stream stands for Letta's stream routes; the check goes to it directly.
  std::vector<std::string> base{"--nginx-url", letta.url(), "--nginx-interval", "3s", "--nginx-timeout", "2s",
                                "--sse-deadline", "1s", "--sse-url", letta.url() + "/_standin/sse?events=2&interval_ms=50"};
  {
    auto h = harness("nginx", base);
    const auto& c = h->first_result();
    INFO(c.reason);
    CHECK(c.reason_code == "not_sse");
    CHECK(contains(c.reason, "401"));
  }
  base.insert(base.end(), {"--letta-token", kPassword});
  auto h = harness("nginx", base);
  const auto& c = h->first_result();
  INFO(c.reason);
  CHECK(c.reason_code == "ok");
  CHECK(c.status == Status::Up);
  CHECK_FALSE(contains(c.reason, kPassword));
}
