#include <catch2/catch.hpp>
#include <random>
#include <regex>

#include "config/redact.hpp"
#include "config/url.hpp"
#include "core/host_port.hpp"
#include "core/duration.hpp"

TEST_CASE("parse_url reads every part", "[unit][url]") {
  auto u = lg::config::parse_url("postgresql://letta:p%40ss@db.local:5433/letta?sslmode=disable");
  REQUIRE(u);
  CHECK(u->scheme == "postgresql");
  CHECK(u->user == "letta");
  CHECK(u->password == "p@ss");
  CHECK(u->host == "db.local");
  CHECK(u->port == 5433);
  CHECK(u->path == "/letta");
  CHECK(u->query == "sslmode=disable");
  CHECK(u->redacted() == "postgresql://letta:***@db.local:5433/letta?sslmode=disable");

  auto v6 = lg::config::parse_url("http://[::1]:8283");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->host_port() == "[::1]:8283");
  CHECK(v6->target() == "/");

  auto plain = lg::config::parse_url("HTTP://letta-server");
  REQUIRE(plain);
  CHECK(plain->scheme == "http");
  CHECK(plain->port == 0);
}

TEST_CASE("path_to puts a server's path under the URL's, without a double slash", "[unit][url]") {
  CHECK(lg::config::parse_url("http://letta:8283")->path_to("/v1/health/") == "/v1/health/");
  CHECK(lg::config::parse_url("http://proxy/letta/")->path_to("/v1/health/") == "/letta/v1/health/");
  CHECK(lg::config::parse_url("http://proxy/letta//")->path_to("/v1/health/") == "/letta/v1/health/");
  CHECK(lg::config::parse_url("http://proxy/letta")->path_to("/nginx-health") == "/letta/nginx-health");
}

TEST_CASE("parse_url rejects what is not a URL, without echoing passwords", "[unit][url]") {
  std::string why;
  CHECK_FALSE(lg::config::parse_url("letta-server:8283", &why));
  CHECK_FALSE(lg::config::parse_url("http://u:secretpw@host:0", &why));
  CHECK_THAT(why, !Catch::Contains("secretpw"));
  CHECK_FALSE(lg::config::parse_url("http://[::1:80", &why));
  CHECK_FALSE(lg::config::parse_url("http://:80", &why));
  CHECK_FALSE(lg::config::parse_url("http://host/a b", &why));
}

TEST_CASE("redact_dsn hides passwords in both DSN forms", "[unit][url][redaction]") {
  CHECK(lg::config::redact_dsn("postgresql://letta:letta@letta-postgres:5432/letta") ==
        "postgresql://letta:***@letta-postgres:5432/letta");
  CHECK(lg::config::redact_dsn("host=db password=s3cret dbname=letta") == "host=db password=*** dbname=letta");
  CHECK(lg::config::redact_dsn("host=db password = 'a b\\' c' dbname=letta") == "host=db password = *** dbname=letta");
  CHECK(lg::config::redact_dsn("postgresql://letta@db/letta?password=s3cret&x=1") ==
        "postgresql://letta@db/letta?password=***&x=1");
  CHECK(lg::config::redact_dsn("postgresql://db/letta") == "postgresql://db/letta");
}

// redact_dsn scans by hand; these are the regexes it replaced. Random strings over the
// characters that matter must come out the same both ways.
TEST_CASE("redact_dsn masks exactly what the former regexes masked", "[unit][url][redaction]") {
  const std::regex qpw(R"((^|[?&])password=[^&]*)", std::regex::icase);
  const std::regex kv(R"((password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+))", std::regex::icase);
  const std::string alphabet = "pPaswordRD= =\t\n'\\?&x@:/";
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    const int words = 1 + static_cast<int>(rng() % 4);
    for (int w = 0; w < words; ++w) {
      switch (rng() % 4) {
        case 0: s += "password"; break;
        case 1: s += "PassWord"; break;
        case 2: s += "password="; break;
        default: break;
      }
      const int n = static_cast<int>(rng() % 6);
      for (int k = 0; k < n; ++k) s += alphabet[rng() % alphabet.size()];
    }
    INFO(s);
    if (s.find("://") == std::string::npos) CHECK(lg::config::redact_dsn(s) == std::regex_replace(s, kv, "$1***"));
    const std::string url = "postgresql://db/x?" + s;
    if (!lg::config::parse_url(url)) continue;  // the URL branch masks userinfo first: compare parsed ones only
    CHECK(lg::config::redact_dsn(url) ==
          std::regex_replace(lg::config::parse_url(url)->redacted(), qpw, "$1password=***"));
  }
}

TEST_CASE("host:port pairs", "[unit][url]") {
  auto hp = lg::core::parse_host_port("[::]:8283");
  REQUIRE(hp);
  CHECK(hp->host == "::");
  CHECK(hp->port == 8283);
  std::string why;
  CHECK_FALSE(lg::core::parse_host_port("host", &why));
  CHECK(why == "missing port");
  CHECK_FALSE(lg::core::parse_host_port("host:0", &why));
  CHECK_FALSE(lg::core::parse_host_port("host:65536", &why));
}

TEST_CASE("durations", "[unit][duration]") {
  using lg::core::parse_duration;
  CHECK(parse_duration("250ms")->count() == 250);
  CHECK(parse_duration("2s")->count() == 2000);
  CHECK(parse_duration("1m")->count() == 60000);
  CHECK(parse_duration("1h")->count() == 3600000);
  CHECK(parse_duration("1m30s")->count() == 90000);
  CHECK(parse_duration("0")->count() == 0);
  std::string why;
  CHECK_FALSE(parse_duration("", &why));
  CHECK_FALSE(parse_duration("5", &why));
  CHECK_THAT(why, Catch::Contains("no unit"));
  CHECK_FALSE(parse_duration("5d", &why));
  CHECK_THAT(why, Catch::Contains("unknown unit"));
  CHECK_FALSE(parse_duration("-1s", &why));
  CHECK_FALSE(parse_duration("999999999h", &why));
  CHECK(lg::core::format_duration(lg::core::Millis{1500}) == "1500ms");
  CHECK(lg::core::format_duration(lg::core::Millis{120000}) == "2m");
}

TEST_CASE("redact_message blanks a password wherever a message repeats it", "[unit][url][redaction]") {
  using lg::config::redact_message;
  using lg::config::RedactOptions;
  // libpq quotes a malformed URI whole.
  const std::string v6 = "postgresql://u:Pw-Secret1@[::1/db";
  std::string m = redact_message("end of string reached when looking for matching \"]\" in IPv6 host address in URI: \"" +
                                     v6 + "\"",
                                 v6);
  CHECK_THAT(m, !Catch::Contains("Pw-Secret1"));
  CHECK_THAT(m, Catch::Contains("postgresql://u:***@[::1/db"));
  // A password without its '@' reads as a port; one with an unencoded '/' ends the authority.
  CHECK(redact_message("'redis://:Pw-Secret2': missing host", "redis://:Pw-Secret2") == "'redis://:***': missing host");
  CHECK(redact_message("invalid port 'Pw-Secret2'", "redis://u:Pw-Secret2") == "invalid port '***'");
  CHECK_THAT(redact_message("database \"Sec3@host/db\" does not exist", "postgresql://u:Pw/Sec3@host/db",
                            RedactOptions{false, true, {}}),
             !Catch::Contains("Sec3"));
  // Percent-encoded in the input, decoded in the message (and the other way round).
  CHECK(redact_message("x p@ss-Secret4 y", "redis://:p%40ss-Secret4@r:1") == "x *** y");
  CHECK(redact_message("invalid percent-encoded token: \"Pw%zzSecret\"", "postgresql://u:Pw%zzSecret@h/db") ==
        "invalid percent-encoded token: \"***\"");
  // key=value: quoted, unterminated, unquoted with a space (libpq quotes the second half alone).
  CHECK(redact_message("a 'b c' d", "host=h password='b c'") == "a '***' d");
  CHECK(redact_message("rest: Secret5 x", "host=h password='Secret5 x") == "rest: ***");
  CHECK(redact_message("missing \"=\" after \"Half6\" in connection info string", "host=h password=Pw Half6 dbname=x",
                       RedactOptions{false, true, {}}) == "missing \"=\" after \"***\" in connection info string");
  // A forward target written like an authority; a port after '@COMPONENT' syntax is not a password.
  CHECK(redact_message("'1.2.3.4:1=u:Pw-Secret7@h:2': upstream: invalid port 'Pw-Secret7'", "1.2.3.4:1=u:Pw-Secret7@h:2") ==
        "'1.2.3.4:1=u:***@h:2': upstream: invalid port '***'");
  CHECK(redact_message("'0.0.0.0:8283=letta:8283@leta': 'leta' is not a component", "0.0.0.0:8283=letta:8283@leta") ==
        "'0.0.0.0:8283=letta:8283@leta': 'leta' is not a component");
  CHECK(redact_message("h1:5432,h2:5433 refused", "postgresql://h1:5432,h2:5433/db") == "h1:5432,h2:5433 refused");
  // A whole secret (a token), and words that stay public (user and database named like the password).
  CHECK(redact_message("token Tok-Secret8 bad", "Tok-Secret8", RedactOptions{true, false, {}}) == "token *** bad");
  CHECK(redact_message("database letta at h", "postgresql://letta:letta@h/letta", RedactOptions{false, false, {"letta"}}) ==
        "database letta at h");
}
