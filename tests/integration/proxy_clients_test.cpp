// Real clients through the forwarder, to the suite's real servers: psql to PostgreSQL,
// redis-cli to Redis, curl to nginx (plain and SSE). The forwarder runs on its own loop in a
// thread of this process; the clients are the real command-line tools.
#include <catch2/catch.hpp>

#include "integration/proxy_harness.hpp"
#include "support/test_env.hpp"

using namespace lgtest::proxy;

TEST_CASE("proxy: psql through the forwarder", "[stack][proxy]") {
  ForwarderThread fw(forward_to("127.0.0.1", lgtest::env_int("LG_PG_PORT")));
  const std::string port = std::to_string(fw.port());
  auto r = lgtest::run("PGPASSWORD='" + lgtest::env("LG_PG_PASSWORD") + "' PGCONNECT_TIMEOUT=5 psql -h 127.0.0.1 -p " +
                           port + " -U letta -d letta -X -A -t -c \"select 'through ' || 'proxy'\" -c " +
                           "\"select count(*) from generate_series(1, 200000)\" -c \"select repeat('x', 1000000)\" "
                           "| head -c 200",
                       30);
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::StartsWith("through proxy\n200000\nxxxx"));
  CHECK(fw.metric("lettagate_proxy_bytes_total", {{"direction", "downstream"}}) > 1000000);
}

TEST_CASE("proxy: redis-cli through the forwarder", "[stack][proxy]") {
  ForwarderThread fw(forward_to("127.0.0.1", lgtest::env_int("LG_REDIS_PORT")));
  const std::string cli = "redis-cli -h 127.0.0.1 -p " + std::to_string(fw.port()) + " ";
  auto r = lgtest::run(cli + "PING && " + cli + "SET lg:proxy:test through-proxy && " + cli + "GET lg:proxy:test && " +
                           "head -c 3000000 /dev/zero | tr '\\0' 'r' | " + cli + "-x SET lg:proxy:big && " + cli +
                           "STRLEN lg:proxy:big && " + cli + "DEL lg:proxy:test lg:proxy:big",
                       30);
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "PONG\nOK\nthrough-proxy\nOK\n3000000\n2\n");
}

TEST_CASE("proxy: curl to nginx through the forwarder, plain and SSE", "[stack][proxy]") {
  ForwarderThread fw(forward_to("127.0.0.1", lgtest::env_int("LG_NGINX_PORT")));
  const std::string base = "http://127.0.0.1:" + std::to_string(fw.port());
  auto health = lgtest::run("curl -s -m 10 " + base + "/v1/health/", 20);
  INFO(health.out);
  CHECK(health.out == "{\"version\":\"0.16.7\",\"status\":\"ok\"}");
  // SSE through nginx and the forwarder: 4 events 300 ms apart arrive spread out (not at once).
  auto sse = lgtest::run("python3 " + lgtest::source_dir() + "/tests/standin/sse_timing.py --timeout 15 '" + base +
                             "/_standin/sse?events=4&interval_ms=300&hold_s=0'",
                         30);
  INFO(sse.out);
  CHECK(sse.exit_code == 0);
  std::vector<int> at;
  std::istringstream lines(sse.out);
  std::string line;
  std::getline(lines, line);
  CHECK(line == "status 200");
  while (std::getline(lines, line)) at.push_back(std::stoi(line));
  REQUIRE(at.size() >= 4);
  CHECK(at[0] < 250);               // the first event at once
  CHECK(at[2] - at[0] >= 250);      // later ones as they were sent, not buffered to the end
  // A keep-alive connection with several requests (curl reuses it).
  auto two = lgtest::run("curl -s -m 10 " + base + "/v1/health/ " + base + "/v1/health/", 20);
  CHECK(two.out == "{\"version\":\"0.16.7\",\"status\":\"ok\"}{\"version\":\"0.16.7\",\"status\":\"ok\"}");
  CHECK(fw.metric("lettagate_proxy_connections_accepted_total") == 3);
}
