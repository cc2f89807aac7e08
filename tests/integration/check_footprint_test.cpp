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

namespace {

// A loopback listener that never accepts: connections wait in its backlog.
struct SilentListener {
  int fd = -1;
  int port = 0;
  SilentListener() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(listen(fd, 8) == 0);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~SilentListener() { close(fd); }
  // True once a connection is pending (the listening socket reads as ready), within `ms`.
  bool connected(int ms) const {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, ms) == 1;
  }
};

std::string maps_of(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/maps");
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("check does not map libpq, even with the postgres probe configured", "[stack][cli]") {
  SilentListener readyz;
  const std::string dsn = "postgresql://letta:x@127.0.0.1:" + std::to_string(readyz.port) + "/letta";
  // No --url: check reads the configuration for its default URL (LETTAGATE_LISTEN).
  lgtest::Process check("check --timeout 10s",
                        "LETTAGATE_LISTEN=127.0.0.1:" + std::to_string(readyz.port) + " LETTAGATE_POSTGRES_DSN='" + dsn + "'");
  REQUIRE(readyz.connected(5000));
  const std::string maps = maps_of(check.pid());
  REQUIRE_FALSE(maps.empty());
  CHECK(maps.find("libpq") == std::string::npos);
}

// The control: the same reading sees libpq where it is loaded (wait, probing postgres).
TEST_CASE("wait with the postgres probe maps libpq (the control of the check test)", "[stack][cli]") {
  SilentListener postgres;
  const std::string dsn = "postgresql://letta:x@127.0.0.1:" + std::to_string(postgres.port) + "/letta";
  lgtest::Process wait("wait --timeout 10s --quiet --letta-url off --redis-url off --nginx-url off --postgres-dsn '" +
                       dsn + "'");
  REQUIRE(postgres.connected(5000));
  CHECK(maps_of(wait.pid()).find("libpq") != std::string::npos);
}
