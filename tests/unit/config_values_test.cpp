// Each setting's value parsed and refused with the setting named (src/config/value_parsers,
// url, redact): addresses, URLs, durations, numbers, and no password in any error or reason.
#include <uv.h>

#include <catch2/catch.hpp>
#include <optional>

#include "app/components.hpp"
#include "probes/libpq_loader.hpp"
#include "probes/pg_attempt.hpp"
#include "support/config_parse.hpp"

using lgtest::error_of;
using lgtest::parse;

TEST_CASE("every bad value exits with the setting named", "[unit][config]") {
  struct Case {
    std::vector<std::string> args;
    std::string setting;
    std::string fragment;
  };
  std::vector<Case> cases{
      {{"--listen", "nohost"}, "--listen (LETTAGATE_LISTEN)", "missing port"},
      {{"--listen", "1.2.3.4:99999"}, "--listen", "invalid port"},
      {{"--listen", "::1:80"}, "--listen", "brackets"},
      {{"--letta-url", "ftp://x"}, "--letta-url (LETTAGATE_LETTA_URL)", "not supported"},
      {{"--letta-url", "letta-server:8283"}, "--letta-url", "not a URL"},
      {{"--letta-path", "v1/health"}, "--letta-path", "must start with '/'"},
      {{"--letta-method", "FETCH"}, "--letta-method", "is not one of"},
      {{"--letta-expect-status", "200,abc"}, "--letta-expect-status", "not an HTTP status"},
      {{"--letta-expect-json", "novalue"}, "--letta-expect-json", "FIELD=VALUE"},
      {{"--letta-ready=maybe"}, "--letta-ready", "not a boolean"},
      {{"--postgres-dsn", "host=x port=y=z '"}, "--postgres-dsn", "'"},
      {{"--postgres-dsn", "postgresql://letta@db:notaport/letta"}, "--postgres-dsn", "the port is not a number"},
      {{"--postgres-dsn", "host=a,b port=5432,99999"}, "--postgres-dsn", "the port is not a number from 1 to 65535"},
      {{"--forward-health", "leta"}, "--forward-health", "'leta' is not a component (one of letta, postgres"},
      {{"--forward", "127.0.0.1:1=x:2@leta"}, "--forward", "'leta' is not a component"},
      {{"--min-agents", "-1"}, "--min-agents", "whole number"},
      {{"--postgres-identity", "abc"}, "--postgres-identity", "system identifier"},
      {{"--redis-url", "rediss://x:1"}, "--redis-url", "not supported"},
      {{"--redis-url", "redis://x:1/notadb"}, "--redis-url", "not a number"},
      {{"--sse-deadline", "5 seconds"}, "--sse-deadline", "duration"},
      {{"--probe-interval", "5"}, "--probe-interval (LETTAGATE_PROBE_INTERVAL)", "no unit"},
      {{"--probe-interval", "1ms"}, "--probe-interval", "below the minimum"},
      {{"--probe-timeout", "2x"}, "--probe-timeout", "unknown unit"},
      {{"--probe-jitter", "80"}, "--probe-jitter", "percentage"},
      {{"--probe-rise", "0"}, "--probe-rise", "whole number from 1"},
      {{"--postgres-fall", "x"}, "--postgres-fall (LETTAGATE_POSTGRES_FALL)", "whole number"},
      {{"--letta-timeout", "10s"}, "--letta-timeout", "overlap"},
      {{"--tcp-check", "letta=a:1"}, "--tcp-check", "taken by a built-in"},
      {{"--tcp-check", "a b=x:1"}, "--tcp-check", "letters"},
      {{"--tcp-check", "noequals"}, "--tcp-check", "NAME=HOST:PORT"},
      {{"--forward", "8283=letta:8283"}, "--forward", "listen address"},
      {{"--forward", "0.0.0.0:8283"}, "--forward", "LISTEN=UPSTREAM"},
      {{"--forward-health-mode", "wait"}, "--forward-health-mode", "hold, reject, ignore"},
      {{"--max-header-bytes", "10"}, "--max-header-bytes", "256"},
      {{"--log-level", "loud"}, "--log-level (LETTAGATE_LOG_LEVEL)", "not one of"},
      {{"--log-format", "xml"}, "--log-format (LETTAGATE_LOG_FORMAT)", "text or json"},
      {{"--no-such-flag"}, "--no-such-flag", "unknown setting"},
      {{"--letta-url"}, "--letta-url", "needs a value"},
      {{"positional"}, "argument", "unexpected argument"},
  };
  for (const auto& c : cases) {
    INFO(c.args[0]);
    std::string e = error_of(c.args);
    CHECK_THAT(e, Catch::Contains(c.setting));
    CHECK_THAT(e, Catch::Contains(c.fragment));
  }
}

TEST_CASE("listen addresses are IP literals, checked when parsed", "[unit][config]") {
  std::string e = error_of({"--listen", "localhost:8080"});
  CHECK_THAT(e, Catch::Contains("--listen (LETTAGATE_LISTEN)"));
  CHECK_THAT(e, Catch::Contains("'localhost' is not an IP address"));
  std::string f = error_of({"--forward", "letta:8283=letta-server:8283"});
  CHECK_THAT(f, Catch::Contains("--forward (LETTAGATE_FORWARD)"));
  CHECK_THAT(f, Catch::Contains("'letta' is not an IP address"));
  CHECK(parse({"--listen", "[::1]:8080", "--forward", "127.0.0.1:8283=letta-server:8283"}).config);
}

TEST_CASE("redis URL: password, db, and the password override", "[unit][config]") {
  auto r = parse({"--redis-url", "redis://:s3cret@r:6380/2"});
  REQUIRE(r.config);
  CHECK(r.config->redis.password == "s3cret");
  CHECK(r.config->redis.db == 2);
  CHECK(r.config->redis.url.redacted() == "redis://:***@r:6380/2");
  auto o = parse({"--redis-url", "redis://:s3cret@r:6380", "--redis-password", "other"});
  REQUIRE(o.config);
  CHECK(o.config->redis.password == "other");
}

// Parsing loads nothing: a connection string only libpq can judge is kept as given, and
// checked when the probe is made (error_of above).
TEST_CASE("parsing keeps --postgres-dsn as given, for libpq to judge", "[unit][config]") {
  auto r = parse({"--postgres-dsn", "host=a,b port=5432,99999"});
  REQUIRE(r.config);
  CHECK(r.config->postgres.dsn == "host=a,b port=5432,99999");
  CHECK_THAT(error_of({"--postgres-dsn", "host=a,b port=5432,99999"}), Catch::Contains("--postgres-dsn"));
  CHECK_FALSE(lg::app::check_probe_settings(*parse({"--postgres-dsn", "off"}).config));
}

TEST_CASE("credentials in the Letta, nginx and SSE URLs are refused without being shown", "[unit][config]") {
  for (const char* flag : {"--letta-url", "--nginx-url", "--sse-url"}) {
    INFO(flag);
    for (const char* url : {"http://user:hunter2x@letta:8283", "http://hunter2x@letta:8283", "http://:hunter2x@letta"}) {
      std::string e = error_of({flag, url});
      CHECK_THAT(e, Catch::Contains(std::string(flag) + " ("));
      CHECK_THAT(e, Catch::Contains("credentials in the URL are not sent"));
      CHECK_THAT(e, !Catch::Contains("hunter2x"));
    }
  }
}

TEST_CASE("errors and descriptions never show passwords", "[unit][config][redaction]") {
  std::string e = error_of({"--postgres-dsn", "postgresql://letta:hunter2@db:5432/letta?nosuchparam=1"});
  CHECK_THAT(e, !Catch::Contains("hunter2"));
  std::string e2 = error_of({"--redis-url", "rediss://:hunter2@r:1"});
  CHECK_THAT(e2, !Catch::Contains("hunter2"));
  std::string e3 = error_of({"--letta-url", "ftp://u:hunter2@x"});
  CHECK_THAT(e3, !Catch::Contains("hunter2"));
  auto ok = parse({"--postgres-dsn", "host=db password=hunter2 dbname=letta", "--redis-url", "redis://:hunter2@r:1"});
  REQUIRE(ok.config);
  std::string d = lg::config::describe_config(*ok.config);
  CHECK_THAT(d, !Catch::Contains("hunter2"));
  CHECK_THAT(d, Catch::Contains("password=***"));
  CHECK_THAT(d, Catch::Contains("redis://:***@r:1"));
}

// The probe runs libpq's parser again on the DSN as given; its message quotes a malformed URI
// whole. The reason goes through the same redaction as the configuration errors.
TEST_CASE("the postgres probe's reasons that quote libpq never show the password", "[unit][redaction]") {
  std::string load_error;
  REQUIRE(lg::probes::libpq::load(&load_error));
  uv_loop_t loop;
  uv_loop_init(&loop);
  std::optional<lg::probes::pg::PgReply> reply;
  lg::probes::pg::PgAttempt::start(&loop, "postgresql://letta:Run-Secret9@[::1/letta", "select 1",
                                   [&](lg::probes::pg::PgReply r) { reply = std::move(r); });
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  REQUIRE(reply);
  REQUIRE(reply->failure);
  INFO(reply->failure->message);
  CHECK_THAT(reply->failure->message, Catch::Contains("invalid connection string"));
  CHECK_THAT(reply->failure->message, Catch::Contains("postgresql://letta:***@[::1/letta"));
  CHECK_THAT(reply->failure->message, !Catch::Contains("Run-Secret9"));
}
