#pragma once
// What the real services of scripts/services say about themselves, asked with their own
// clients (psql, redis-cli, curl), independent of the code under test: the values a test
// compares lettagate's /status and /metrics with, never hard-coded.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "support/test_env.hpp"

namespace lgtest {

inline std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// One value from the test PostgreSQL, as the role `letta` over TCP (its search_path applies).
inline std::string pg_value(const std::string& db, const std::string& sql) {
  auto r = run("PGPASSWORD='" + env("LG_PG_PASSWORD") + "' " + env("LG_PG_BIN") +
                   "/psql -X -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p " + env("LG_PG_PORT") + " -U letta -d " + db +
                   " -c \"" + sql + "\"",
               30);
  INFO("psql " << db << ": " << sql << "\n" << r.out);
  REQUIRE(r.exit_code == 0);
  return trimmed(r.out);
}

// Live agents in the test database `letta`, counted as Letta's data guard defines them.
inline std::string pg_live_agents() { return pg_value("letta", "SELECT count(*) FROM agents WHERE NOT is_deleted"); }

// The installed `vector` extension's version in `db` ("" when not installed).
inline std::string pg_vector_version(const std::string& db = "letta") {
  return pg_value(db, "SELECT coalesce((SELECT extversion FROM pg_extension WHERE extname = 'vector'), '')");
}

// `role` from INFO replication of the test Redis (no auth).
inline std::string redis_role() {
  auto r = run("redis-cli -h 127.0.0.1 -p " + env("LG_REDIS_PORT") + " INFO replication", 30);
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  auto at = r.out.find("role:");
  REQUIRE(at != std::string::npos);
  return trimmed(r.out.substr(at + 5, r.out.find('\n', at) - at - 5));
}

// `version` from the Letta stand-in's GET /v1/health/.
inline std::string letta_version() {
  auto r = run("curl -sS --max-time 5 '" + env("LG_LETTA_URL") + "/v1/health/'", 10);
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  REQUIRE(doc.is_object());
  REQUIRE(doc.contains("version"));
  return doc["version"].get<std::string>();
}

}  // namespace lgtest
