// The Redis probe against real redis-servers: the two of scripts/services (plain and
// requirepass) and, for loading and IPv6, one of our own. Every attempt runs on a private loop
// that must close clean afterwards (uv_loop_close == 0: every handle, including the hiredis
// adapter's poll handle, was closed, so the context was freed); the suite also runs under
// ASan/LSan (-DLETTAGATE_SANITIZE=ON).
#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <regex>
#include <thread>

#include "integration/probe_harness.hpp"
#include "integration/redis_test_support.hpp"
#include "probes/factories.hpp"

using lg::probes::Outcome;
using lgtest::BlackHole;
using lgtest::redis::OwnRedis;
using lgtest::TestLoop;
using lgtest::SilentListener;
using lgtest::redis::cli;
using lgtest::redis::make_temp_dir;
using lgtest::redis::wait_pong;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string plain_url() { return "redis://127.0.0.1:" + lgtest::env("LG_REDIS_PORT"); }
std::string auth_host_port() { return "127.0.0.1:" + lgtest::env("LG_REDIS_AUTH_PORT"); }

lg::config::RedisSettings settings(const std::string& url, std::vector<std::string> flags = {}) {
  std::vector<std::string> args{"--redis-url", url};
  args.insert(args.end(), flags.begin(), flags.end());
  return lgtest::config_from(args).redis;
}

// One attempt, start to done, on a private loop that must close clean.
Outcome probe_once(const lg::config::RedisSettings& s, std::chrono::milliseconds timeout = 5000ms) {
  TestLoop loop;
  int calls = 0;
  std::optional<Outcome> got;
  {
    auto probe = lg::probes::make_probe(loop.get(), s);
    probe->start([&](Outcome o) {
      ++calls;
      got = std::move(o);
    });
    REQUIRE(calls == 0);  // never from inside start()
    REQUIRE(loop.run_until([&] { return got.has_value(); }, timeout));
  }
  CHECK(loop.close());
  CHECK(calls == 1);
  return *got;
}

}  // namespace

TEST_CASE("redis: a healthy server answers PONG, with role and version from INFO", "[stack][redis]") {
  auto s = settings(plain_url());
  auto o = probe_once(s);
  INFO(o.reason);
  CHECK(o.ok);
  CHECK(o.reason_code == "ok");
  CHECK(o.facts.role.value() == "master");
  CHECK(std::regex_match(o.facts.version.value(), std::regex(R"(\d+\.\d+\.\d+)")));
  CHECK(o.reason == "PONG, role master, redis " + o.facts.version.value());
  TestLoop loop;
  CHECK(lg::probes::make_probe(loop.get(), s)->target() == plain_url());
}

TEST_CASE("redis: a host name is resolved off the loop (uv_getaddrinfo), then connected", "[stack][redis]") {
  auto o = probe_once(settings("redis://localhost:" + lgtest::env("LG_REDIS_PORT")));
  INFO(o.reason);
  CHECK(o.reason_code == "ok");
}

TEST_CASE("redis: SELECT db from the URL, an out-of-range db is an error naming SELECT", "[stack][redis]") {
  auto ok = probe_once(settings(plain_url() + "/3"));
  INFO(ok.reason);
  CHECK(ok.reason_code == "ok");
  auto bad = probe_once(settings(plain_url() + "/99"));
  INFO(bad.reason);
  CHECK(bad.reason_code == "error");
  CHECK(bad.reason == "SELECT failed: ERR DB index is out of range");
}

TEST_CASE("redis: AUTH with the right password on the requirepass server", "[stack][redis]") {
  const std::string password = lgtest::env("LG_REDIS_PASSWORD");
  SECTION("password in the URL") {
    auto s = settings("redis://:" + password + "@" + auth_host_port() + "/2");
    auto o = probe_once(s);
    INFO(o.reason);
    CHECK(o.reason_code == "ok");
    CHECK(o.facts.role.value() == "master");
    TestLoop loop;
    auto target = lg::probes::make_probe(loop.get(), s)->target();
    CHECK(target == "redis://:***@" + auth_host_port() + "/2");
    CHECK_FALSE(contains(target, password));
  }
  SECTION("password from --redis-password") {
    auto o = probe_once(settings("redis://" + auth_host_port(), {"--redis-password", password}));
    INFO(o.reason);
    CHECK(o.reason_code == "ok");
  }
}

TEST_CASE("redis: a wrong password is auth_failed, and the password is never shown", "[stack][redis]") {
  const std::string wrong = "not-the-Secret-9";
  auto o = probe_once(settings("redis://:" + wrong + "@" + auth_host_port()));
  INFO(o.reason);
  CHECK(o.reason_code == "auth_failed");
  CHECK(contains(o.reason, "WRONGPASS"));
  CHECK_FALSE(contains(o.reason, wrong));
}

TEST_CASE("redis: no password against the requirepass server is auth_required", "[stack][redis]") {
  auto o = probe_once(settings("redis://" + auth_host_port()));
  INFO(o.reason);
  CHECK(o.reason_code == "auth_required");
  CHECK(contains(o.reason, "NOAUTH"));
}

TEST_CASE("redis: a password sent to a server without one is auth_failed, said plainly", "[stack][redis]") {
  auto o = probe_once(settings(plain_url(), {"--redis-password", "some-Secret-1"}));
  INFO(o.reason);
  CHECK(o.reason_code == "auth_failed");
  CHECK(contains(o.reason, "no password set"));
  CHECK_FALSE(contains(o.reason, "some-Secret-1"));
}

TEST_CASE("redis: a closed port is refused at once, and the context is freed", "[stack][redis]") {
  // hiredis 0.14.1's own libuv adapter never reports this (the connect callback never fires);
  // ours does, and the private loop closing clean proves the poll handle was closed.
  const std::string port = std::to_string(lgtest::free_port());
  auto started = Clock::now();
  auto o = probe_once(settings("redis://127.0.0.1:" + port));
  INFO(o.reason);
  CHECK(o.reason_code == "refused");
  CHECK(o.reason == "connection refused by 127.0.0.1:" + port);
  CHECK(Clock::now() - started < 2s);
}

TEST_CASE("redis: the stopped services redis is refused, up again after restart", "[stack][serial][redis]") {
  auto s = settings(plain_url());
  {
    lgtest::ServiceStopped stopped("redis");
    auto o = probe_once(s);
    INFO(o.reason);
    CHECK(o.reason_code == "refused");
    CHECK(contains(o.reason, "connection refused by 127.0.0.1:" + lgtest::env("LG_REDIS_PORT")));
    REQUIRE(stopped.restart());
  }
  auto o = probe_once(s);
  INFO(o.reason);
  CHECK(o.reason_code == "ok");
}

TEST_CASE("redis: an unknown host is dns", "[stack][redis]") {
  auto o = probe_once(settings("redis://no-such-redis.invalid:6379"));
  INFO(o.reason);
  CHECK(o.reason_code == "dns");
  CHECK(contains(o.reason, "no-such-redis.invalid"));
}

TEST_CASE("redis: cancel at any early point: no done, every handle closed", "[stack][redis]") {
  // 0 turns: before the attempt began; then resolving (a name) or connecting; later turns
  // reach the replies. Whatever state cancel() meets, no done and a clean loop.
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    for (int turns = 0; turns < 6; ++turns) {
      CAPTURE(host, turns);
      TestLoop loop;
      int calls = 0;
      {
        auto probe = lg::probes::make_probe(loop.get(),
                                                  settings("redis://" + host + ":" + lgtest::env("LG_REDIS_PORT")));
        probe->start([&](Outcome) { ++calls; });
        for (int i = 0; i < turns; ++i) uv_run(loop.get(), UV_RUN_NOWAIT);
        if (calls == 0) probe->cancel();
      }
      CHECK(loop.close());  // until nothing is left on the loop: any late done has come
      CHECK(calls <= 1);
    }
  }
}

TEST_CASE("redis: cancel mid-connect (black-holed server): no done, no leak", "[stack][redis]") {
  BlackHole hole;
  TestLoop loop;
  int calls = 0;
  auto probe = lg::probes::make_probe(loop.get(), settings("redis://127.0.0.1:" + std::to_string(hole.port())));
  probe->start([&](Outcome) { ++calls; });
  loop.run_until([&] { return calls > 0; }, 300ms);
  REQUIRE(calls == 0);  // still connecting
  probe->cancel();
  probe.reset();
  CHECK(loop.close());  // runs the loop until nothing is left on it: a late done would have come
  CHECK(calls == 0);
}

TEST_CASE("redis: cancel while waiting for replies (connected, silent server): no done, no leak",
          "[stack][redis]") {
  SilentListener silent;
  TestLoop loop;
  int calls = 0;
  auto probe =
      lg::probes::make_probe(loop.get(), settings("redis://127.0.0.1:" + std::to_string(silent.port())));
  probe->start([&](Outcome) { ++calls; });
  loop.run_until([&] { return calls > 0; }, 300ms);
  REQUIRE(calls == 0);
  probe.reset();  // the destructor cancels
  CHECK(loop.close());  // runs the loop until nothing is left on it: a late done would have come
  CHECK(calls == 0);
}

TEST_CASE("redis: the runner's deadline cuts a black-holed connect as timeout", "[stack][redis]") {
  BlackHole hole;
  lg::config::Config cfg = lgtest::config_from({"--redis-url", "redis://127.0.0.1:" + std::to_string(hole.port()),
                                                "--redis-interval", "2s", "--redis-timeout", "300ms"});
  lgtest::ProbeHarness h("redis", cfg.redis.schedule,
                         [&](uv_loop_t* loop) { return lg::probes::make_probe(loop, cfg.redis); });
  const auto& c = h.first_result(3000ms);
  INFO(c.reason);
  CHECK(c.reason_code == "timeout");
}

TEST_CASE("redis: IPv6 literal ([::1])", "[stack][redis]") {
  const std::string dir = make_temp_dir();
  const int port = lgtest::free_port();
  OwnRedis server(dir, "::1", port, {});
  REQUIRE(wait_pong("::1", port, 10s));
  auto o = probe_once(settings("redis://[::1]:" + std::to_string(port)));
  INFO(o.reason);
  CHECK(o.reason_code == "ok");
  CHECK(server.stop());
  lgtest::run("rm -rf " + dir);
}

TEST_CASE("redis: a server loading its dataset is loading, with progress, then ok", "[stack][redis]") {
  const std::string dir = make_temp_dir();
  const int port = lgtest::free_port();
  const auto url = "redis://127.0.0.1:" + std::to_string(port);
  {
    // A dataset on disk: 300k small keys (about 7 MB of RDB).
    OwnRedis seed(dir, "127.0.0.1", port, {"--enable-debug-command", "yes"});
    REQUIRE(wait_pong("127.0.0.1", port, 10s));
    REQUIRE(cli("127.0.0.1", port, "DEBUG POPULATE 300000") == "OK");
    REQUIRE(cli("127.0.0.1", port, "SAVE") == "OK");
    REQUIRE(seed.stop());
  }
  // Restarted on that file, slowed down: key-load-delay (Redis 7; microseconds per key, a
  // negative -N sleeping on one key in N) stretches the load to seconds, and answering clients
  // every 1 KiB of RDB (instead of every 2 MiB) keeps it responsive while loading.
  OwnRedis server(dir, "127.0.0.1", port,
                  {"--key-load-delay", "-20", "--loading-process-events-interval-bytes", "1024"});
  const auto started = Clock::now();
  std::optional<Outcome> first, loading, ready;
  int loading_results = 0;
  while (!ready && Clock::now() - started < 60s) {
    auto o = probe_once(settings(url), 5000ms);
    if (o.reason_code == "refused") {  // not listening yet
      std::this_thread::sleep_for(20ms);
      continue;
    }
    if (!first) first = o;
    if (o.reason_code == "loading") {
      ++loading_results;
      loading = o;
    } else {
      ready = o;
    }
    std::this_thread::sleep_for(100ms);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::fprintf(stderr, "redis loading test: %d loading results, ready after %.2f s\n", loading_results, seconds);
  REQUIRE(first);
  INFO(first->reason);
  CHECK(first->reason_code == "loading");
  REQUIRE(loading);
  CHECK_THAT(loading->reason, Catch::StartsWith("Redis is loading its dataset into memory"));
  CHECK(contains(loading->reason, "% loaded"));
  CHECK(loading->facts.role.value() == "master");
  REQUIRE(ready);
  INFO(ready->reason);
  CHECK(ready->reason_code == "ok");
  CHECK(ready->facts.role.value() == "master");
  CHECK(server.stop());
  lgtest::run("rm -rf " + dir);
}
