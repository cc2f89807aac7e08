// The pure half of the Redis probe: INFO parsing and how replies and errors become Outcomes.
#include <catch2/catch.hpp>
#include <cerrno>

#include "probes/redis_reply.hpp"

using namespace lg::probes;

namespace {

// Shaped like Redis 7.0's INFO: sections, CRLF, many keys we skip.
const char* kInfoMaster =
    "# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:00000000\r\nredis_mode:standalone\r\n\r\n"
    "# Persistence\r\nloading:0\r\nasync_loading:0\r\nrdb_changes_since_last_save:0\r\n\r\n"
    "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n";

const char* kInfoLoading =
    "# Server\r\nredis_version:7.0.15\r\n\r\n# Persistence\r\nloading:1\r\nasync_loading:0\r\n"
    "loading_start_time:1764052800\r\nloading_total_bytes:3145728\r\nloading_loaded_bytes:1048576\r\n"
    "loading_loaded_perc:33.33\r\nloading_eta_seconds:4\r\n\r\n# Replication\r\nrole:slave\r\n";

}  // namespace

TEST_CASE("redis INFO: role, version and loading are read, the rest skipped", "[unit][redis]") {
  auto info = parse_info(kInfoMaster);
  CHECK(info.role == "master");
  CHECK(info.version == "7.0.15");
  CHECK_FALSE(info.loading);
  CHECK(info.loaded_percent.empty());

  auto loading = parse_info(kInfoLoading);
  CHECK(loading.loading);
  CHECK(loading.role == "slave");
  CHECK(loading.loaded_percent == "33.33");
  CHECK(loading.eta_seconds == "4");
}

TEST_CASE("redis INFO: LF-only lines, no trailing newline, junk lines", "[unit][redis]") {
  auto info = parse_info("redis_version:6.2.1\nno colon here\n:empty key\nrole:master");
  CHECK(info.version == "6.2.1");
  CHECK(info.role == "master");
  CHECK(parse_info("").role.empty());
  // async_loading:1 is not loading:1 (Redis 7 replica with repl-diskless-load: still serving).
  CHECK_FALSE(parse_info("async_loading:1\r\nloading:0\r\n").loading);
}

TEST_CASE("redis success and loading outcomes say what INFO said", "[unit][redis]") {
  auto ok = success_outcome(parse_info(kInfoMaster));
  CHECK(ok.ok);
  CHECK(ok.reason_code == "ok");
  CHECK(ok.reason == "PONG, role master, redis 7.0.15");
  CHECK(ok.facts.role.value() == "master");
  CHECK(ok.facts.version.value() == "7.0.15");

  auto bare = success_outcome(RedisInfo{});
  CHECK(bare.reason == "PONG, role unknown, redis unknown");
  CHECK(bare.facts.empty());

  auto info = parse_info(kInfoLoading);
  auto loading = loading_outcome(&info);
  CHECK_FALSE(loading.ok);
  CHECK(loading.reason_code == "loading");
  CHECK(loading.reason == "Redis is loading its dataset into memory (33.33% loaded, about 4 s left)");
  CHECK(loading.facts.role.value() == "slave");
  CHECK(loading_outcome(nullptr).reason == "Redis is loading its dataset into memory");
}

TEST_CASE("redis error replies map to reason codes", "[unit][redis]") {
  SECTION("wrong password (Redis 6+ and older)") {
    auto o = classify_error_reply(RedisStep::Auth, "WRONGPASS invalid username-password pair or user is disabled.", true);
    CHECK(o.reason_code == "auth_failed");
    CHECK(o.reason == "Redis rejected the password (AUTH: WRONGPASS invalid username-password pair or user is disabled.)");
    CHECK(classify_error_reply(RedisStep::Auth, "ERR invalid password", true).reason_code == "auth_failed");
  }
  SECTION("a password sent to a Redis without one") {
    auto o = classify_error_reply(RedisStep::Auth,
                                  "ERR AUTH <password> called without any password configured for the default user. "
                                  "Are you sure your configuration is correct?",
                                  true);
    CHECK(o.reason_code == "auth_failed");
    CHECK_THAT(o.reason, Catch::StartsWith("Redis has no password set, but lettagate sends one"));
    CHECK(classify_error_reply(RedisStep::Auth, "ERR Client sent AUTH, but no password is set", true).reason_code ==
          "auth_failed");
  }
  SECTION("NOAUTH: a password is needed and none is configured") {
    auto o = classify_error_reply(RedisStep::Ping, "NOAUTH Authentication required.", false);
    CHECK(o.reason_code == "auth_required");
    CHECK_THAT(o.reason, Catch::Contains("requires a password") && Catch::Contains("--redis-password"));
    CHECK(classify_error_reply(RedisStep::Ping, "NOAUTH Authentication required.", true).reason_code == "auth_failed");
  }
  SECTION("LOADING on any step") {
    auto o = classify_error_reply(RedisStep::Ping, "LOADING Redis is loading the dataset in memory", false);
    CHECK(o.reason_code == "loading");
    CHECK(o.reason == "Redis is loading its dataset into memory");
  }
  SECTION("anything else is an error naming the command") {
    auto o = classify_error_reply(RedisStep::Select, "ERR DB index is out of range", false);
    CHECK(o.reason_code == "error");
    CHECK(o.reason == "SELECT failed: ERR DB index is out of range");
    auto busy = classify_error_reply(RedisStep::Ping, "BUSY Redis is busy running a script.", false);
    CHECK(busy.reason_code == "error");
  }
  SECTION("a long server text is clipped") {
    auto o = classify_error_reply(RedisStep::Info, "ERR " + std::string(1000, 'x'), false);
    CHECK(o.reason.size() < 260);
    CHECK_THAT(o.reason, Catch::EndsWith("..."));
  }
}

TEST_CASE("redis connect errors map to refused, timeout or error", "[unit][redis]") {
  CHECK(classify_connect_error("127.0.0.1:6379", ECONNREFUSED, "Connection refused").reason ==
        "connection refused by 127.0.0.1:6379");
  CHECK(classify_connect_error("127.0.0.1:6379", 0, "Connection refused").reason_code == "refused");
  CHECK(classify_connect_error("[::1]:6379", ETIMEDOUT, "").reason_code == "timeout");
  auto o = classify_connect_error("10.0.0.1:6379", EHOSTUNREACH, "No route to host");
  CHECK(o.reason_code == "error");
  CHECK(o.reason == "cannot connect to 10.0.0.1:6379: No route to host");
}
