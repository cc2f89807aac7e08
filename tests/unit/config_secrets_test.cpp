// Secrets from files, the _FILE variants (src/config/secret_file): the content without one
// trailing newline, both forms refused, bad files named by path, never their content.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>

#include "support/config_parse.hpp"

using lgtest::error_of;
using lgtest::parse;

namespace {

// A file for one test, removed at the end of it.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/lg_config_test_XXXXXX";
    int fd = mkstemp(name);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    close(fd);
    path = name;
  }
  ~TempFile() { std::remove(path.c_str()); }
};

}  // namespace

TEST_CASE("_FILE variants: the file's content without one trailing newline", "[unit][config][secrets]") {
  TempFile dsn("postgresql://letta:f1le-Secret@db:5432/letta\n");
  TempFile token("tok-Secret-9\r\n");
  TempFile redis("redis://:r3dis-Secret@r:6380/1\n\n");  // two newlines: only one is dropped
  TempFile pw("pw-Secret-7");
  auto r = parse({}, {{"LETTAGATE_POSTGRES_DSN_FILE", dsn.path},
                      {"LETTAGATE_LETTA_TOKEN_FILE", token.path},
                      {"LETTAGATE_REDIS_PASSWORD_FILE", pw.path}});
  REQUIRE(r.config);
  CHECK(r.config->postgres.dsn == "postgresql://letta:f1le-Secret@db:5432/letta");
  CHECK(r.config->postgres.dsn_redacted == "postgresql://letta:***@db:5432/letta");
  CHECK(r.config->letta.token == "tok-Secret-9");
  CHECK(r.config->redis.password == "pw-Secret-7");
  auto flag = parse({"--redis-url-file", redis.path});
  REQUIRE(flag.error);  // "redis://...\n" with the second newline left: whitespace in the path
  CHECK(flag.error->setting == "--redis-url-file (LETTAGATE_REDIS_URL_FILE)");
  CHECK_THAT(flag.error->message, Catch::Contains(redis.path));
  CHECK_THAT(flag.error->message, !Catch::Contains("r3dis-Secret"));
  // A flag beats the variable, whichever form each has.
  auto flag_file = parse({"--postgres-dsn-file", dsn.path}, {{"LETTAGATE_POSTGRES_DSN", "postgresql://other@x/y"}});
  REQUIRE(flag_file.config);
  CHECK(flag_file.config->postgres.dsn == "postgresql://letta:f1le-Secret@db:5432/letta");
  auto flag_value = parse({"--postgres-dsn", "off"}, {{"LETTAGATE_POSTGRES_DSN_FILE", "/nonexistent/never/read"}});
  REQUIRE(flag_value.config);
  CHECK_FALSE(flag_value.config->postgres.enabled);
  // An empty variable beside its _FILE: the file wins, as in the postgres image.
  auto empty = parse({}, {{"LETTAGATE_POSTGRES_DSN", ""}, {"LETTAGATE_POSTGRES_DSN_FILE", dsn.path}});
  REQUIRE(empty.config);
  CHECK(empty.config->postgres.enabled);
}

TEST_CASE("_FILE variants: both forms set, or an unreadable or empty file, exit naming them", "[unit][config][secrets]") {
  TempFile dsn("postgresql://letta:f1le-Secret@db:5432/letta");
  auto both = parse({}, {{"LETTAGATE_POSTGRES_DSN", "postgresql://letta:env-Secret@db/letta"},
                         {"LETTAGATE_POSTGRES_DSN_FILE", dsn.path}});
  REQUIRE(both.error);
  CHECK(both.error->setting == "LETTAGATE_POSTGRES_DSN and LETTAGATE_POSTGRES_DSN_FILE");
  CHECK_THAT(both.error->str(), !Catch::Contains("Secret"));
  auto both_flags = parse({"--letta-token", "tok-Secret", "--letta-token-file", dsn.path});
  REQUIRE(both_flags.error);
  CHECK(both_flags.error->setting == "--letta-token and --letta-token-file");
  CHECK_THAT(both_flags.error->str(), !Catch::Contains("Secret"));
  TempFile empty("\n");
  for (const std::string& path : {std::string("/nonexistent/dsn"), std::string("/tmp"), empty.path}) {
    INFO(path);
    auto bad = parse({}, {{"LETTAGATE_POSTGRES_DSN_FILE", path}});
    REQUIRE(bad.error);
    CHECK(bad.error->setting == "--postgres-dsn-file (LETTAGATE_POSTGRES_DSN_FILE)");
    CHECK_THAT(bad.error->message, Catch::Contains("'" + path + "'"));
  }
  CHECK_THAT(error_of({}, {{"LETTAGATE_REDIS_PASSWORD_FILE", "/nonexistent/pw"}}),
             Catch::Contains("No such file or directory"));
  // A malformed value from a file is reported against the file, its content redacted.
  TempFile broken("postgresql://letta:br0ken-Secret@[::1/letta\n");
  std::string e = error_of({"--postgres-dsn-file", broken.path});
  CHECK_THAT(e, Catch::StartsWith("invalid --postgres-dsn-file (LETTAGATE_POSTGRES_DSN_FILE): in '" + broken.path));
  CHECK_THAT(e, !Catch::Contains("br0ken-Secret"));
}

TEST_CASE("_FILE variants: an oversized file or one holding a NUL byte is refused by path", "[unit][config][secrets]") {
  TempFile big(std::string(64 * 1024 + 1, 'x'));
  TempFile nul(std::string("pw-Sec\0ret", 10));
  for (const auto* f : {&big, &nul}) {
    auto r = parse({}, {{"LETTAGATE_LETTA_TOKEN_FILE", f->path}});
    REQUIRE(r.error);
    CHECK(r.error->setting == "--letta-token-file (LETTAGATE_LETTA_TOKEN_FILE)");
    CHECK_THAT(r.error->message, Catch::Contains(f->path));
    CHECK_THAT(r.error->message, !Catch::Contains("pw-Sec"));
  }
}
