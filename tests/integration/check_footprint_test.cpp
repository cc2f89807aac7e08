// `lettagate check` is the Docker HEALTHCHECK, run every few seconds: it must not load libpq
// (with OpenSSL, Kerberos and LDAP behind it), even with the postgres probe configured. Each
// command here connects to a listening socket of the test's that never accepts, so it is caught
// waiting, its configuration parsed, and its mappings read from /proc.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "support/test_env.hpp"
#include "support/silent_listener.hpp"

namespace {

std::string maps_of(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/maps");
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("check does not map libpq, even with the postgres probe configured", "[stack][cli]") {
  lgtest::SilentListener readyz;
  const std::string dsn = "postgresql://letta:x@127.0.0.1:" + std::to_string(readyz.port()) + "/letta";
  // No --url: check reads the configuration for its default URL (LETTAGATE_LISTEN).
  lgtest::Process check("check --timeout 10s",
                        "LETTAGATE_LISTEN=127.0.0.1:" + std::to_string(readyz.port()) + " LETTAGATE_POSTGRES_DSN='" + dsn + "'");
  REQUIRE(readyz.connected(5000));
  const std::string maps = maps_of(check.pid());
  REQUIRE_FALSE(maps.empty());
  CHECK(maps.find("libpq") == std::string::npos);
}

// The control: the same reading sees libpq where it is loaded (wait, probing postgres).
TEST_CASE("wait with the postgres probe maps libpq (the control of the check test)", "[stack][cli]") {
  lgtest::SilentListener postgres;
  const std::string dsn = "postgresql://letta:x@127.0.0.1:" + std::to_string(postgres.port()) + "/letta";
  lgtest::Process wait("wait --timeout 10s --quiet --letta-url off --redis-url off --nginx-url off --postgres-dsn '" +
                       dsn + "'");
  REQUIRE(postgres.connected(5000));
  CHECK(maps_of(wait.pid()).find("libpq") != std::string::npos);
}
