// A Redis replica against the real servers: a redis-server of our own started as a replica of
// the stack's Redis (INFO role:slave) is down for Letta, which writes to Redis, with that reason;
// --redis-allow-replica (or LETTAGATE_REDIS_ALLOW_REPLICA) counts it as up. The replica's port
// comes from lgtest::free_port(): held for this process, and redis-server binds it with
// SO_REUSEADDR, so no other test takes it meanwhile.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "integration/redis_test_support.hpp"
#include "support/test_env.hpp"

using lgtest::redis::OwnRedis;
using lgtest::redis::make_temp_dir;
using lgtest::redis::wait_pong;
using namespace std::chrono_literals;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string wait_json(int port, const std::string& extra) {
  return lgtest::binary() + " wait --timeout 3s --json --letta-url off --postgres-dsn off --nginx-url off" +
         " --probe-interval 300ms --probe-timeout 300ms --redis-url redis://127.0.0.1:" + std::to_string(port) + extra +
         " 2>/dev/null";
}

}  // namespace

TEST_CASE("redis replica: role slave is down for Letta unless --redis-allow-replica", "[stack][redis]") {
  const std::string dir = make_temp_dir();
  const int port = lgtest::free_port();
  const std::string master = lgtest::env("LG_REDIS_PORT");
  OwnRedis replica(dir, "127.0.0.1", port, {"--replicaof", "127.0.0.1", master});
  REQUIRE(wait_pong("127.0.0.1", port, 10s));

  auto down = lgtest::run(wait_json(port, ""));
  INFO(down.out);
  CHECK(down.exit_code == 1);
  auto j = nlohmann::json::parse(down.out, nullptr, false);
  REQUIRE(j.is_object());
  const auto& redis = j["components"]["redis"];
  CHECK(redis["status"] == "down");
  CHECK(redis["reason_code"] == "replica");
  const std::string reason = redis["reason"];
  CHECK(contains(reason, "Redis is a read-only replica (PONG, role slave of 127.0.0.1:" + master));
  CHECK(contains(reason, "--redis-allow-replica"));
  CHECK(redis["info"]["role"] == "slave");

  for (const std::string& allow : {std::string(" --redis-allow-replica"), std::string()}) {
    const std::string env = allow.empty() ? "LETTAGATE_REDIS_ALLOW_REPLICA=true " : "";
    auto up = lgtest::run(env + wait_json(port, allow));
    INFO(env << allow << "\n" << up.out);
    CHECK(up.exit_code == 0);
    auto u = nlohmann::json::parse(up.out, nullptr, false);
    REQUIRE(u.is_object());
    CHECK(u["components"]["redis"]["status"] == "up");
    CHECK(contains(u["components"]["redis"]["reason"].get<std::string>(), "role slave of 127.0.0.1:" + master));
  }
  CHECK(replica.stop());
  lgtest::run("rm -rf " + dir);
}
