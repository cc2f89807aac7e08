#pragma once
// Helpers shared by the tests: the LG_* environment scripts/services writes, running the
// lettagate binary, service control. (A loop of the test's own: support/test_loop.hpp.)
#include <uv.h>

#include <chrono>
#include <functional>
#include <string>

namespace lgtest {

// The value of an LG_* variable from scripts/services; the test FAILS (never skips) when it
// is missing: run the suite through scripts/test.
std::string env(const char* name);
int env_int(const char* name);

// Runs `scripts/services CMD` (e.g. "stop redis") with the suite's state dir; asserts it worked.
void services(const std::string& cmd);

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};
// Runs a shell command, capturing output; `timeout_s` bounds it.
CommandResult run(const std::string& command, int timeout_s = 60);

// Path of the built binary and of the source tree.
std::string binary();
std::string source_dir();

// A port on 127.0.0.1 kept for this test until its process exits: bound with SO_REUSEADDR and
// never listening. No other socket gets it meanwhile (bind(0) and connect() skip a bound port,
// and a bind() without SO_REUSEADDR conflicts), while a server started on it that sets
// SO_REUSEADDR itself (libuv, nginx, redis, Python's http.server all do) can still bind and
// listen. Until one does, connecting to it is refused.
int free_port();

// A TCP socket bound to 127.0.0.1 on a port of its own (port 0, read back into *port), not yet
// listening; `flags` are added to socket()'s type (SOCK_NONBLOCK). The test FAILS if it cannot.
int bind_loopback(int* port, int flags = 0, bool reuse_address = false);

// Blocking HTTP GET on 127.0.0.1 with plain sockets (independent of the code under test).
struct HttpResult {
  int status = 0;
  std::string headers;
  std::string body;
};
HttpResult http_get(int port, const std::string& path, int timeout_ms = 3000);

// A lettagate process started in the background with arguments; stopped (SIGTERM, then
// SIGKILL) when the object goes away.
class Process {
 public:
  explicit Process(const std::string& args, const std::string& env_prefix = "");
  ~Process();
  int pid() const { return pid_; }
  // Waits for the process to exit; returns its exit code, or -1 on timeout.
  int wait(int timeout_ms);
  void signal(int sig);
  std::string log() const;  // what it wrote to stderr/stdout so far
  // Waits until its output contains `text`; false after timeout_ms.
  bool wait_log(const std::string& text, int timeout_ms) const;

 private:
  int pid_ = -1;
  std::string log_path_;
};

// Waits until GET /livez answers on `port`.
bool wait_live(int port, int timeout_ms = 5000);

}  // namespace lgtest
