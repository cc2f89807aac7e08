#pragma once
// Helpers for the Redis probe tests: a redis-server of our own stopped by PID, and redis-cli.
// (The private loop, the black hole and the silent listener are in tests/support/.)
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support/test_env.hpp"
#include "support/black_hole.hpp"
#include "support/silent_listener.hpp"
#include "support/test_loop.hpp"

namespace lgtest::redis {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A redis-server of our own (loading, IPv6), stopped by PID with bounded waits.
class OwnRedis {
 public:
  OwnRedis(const std::string& dir, const std::string& bind, int port, const std::vector<std::string>& extra) {
    std::vector<std::string> args{"/usr/bin/redis-server", "--port", std::to_string(port), "--bind", bind,
                                  "--dir", dir, "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string log = dir + "/redis.log";
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      int in = open("/dev/null", O_RDONLY);
      int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      dup2(in, 0);
      dup2(out, 1);
      dup2(out, 2);
      execv(argv[0], argv.data());
      _exit(127);
    }
    REQUIRE(pid_ > 0);
  }
  ~OwnRedis() { stop(); }
  // SIGTERM, then SIGKILL; true when it exited (we are its parent: waitpid reaps it).
  bool stop() {
    if (pid_ <= 0) return true;
    kill(pid_, SIGTERM);
    bool gone = wait_exit(10s);
    if (!gone) {
      kill(pid_, SIGKILL);
      gone = wait_exit(5s);
    }
    pid_ = -1;
    return gone;
  }
  OwnRedis(const OwnRedis&) = delete;
  OwnRedis& operator=(const OwnRedis&) = delete;

 private:
  bool wait_exit(std::chrono::milliseconds limit) {
    auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
  pid_t pid_ = -1;
};

inline std::string make_temp_dir() {
  char tmpl[] = "/tmp/lettagate-redis-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  return tmpl;
}

// redis-cli against our own server; returns its output, trimmed.
inline std::string cli(const std::string& host, int port, const std::string& command) {
  auto r = lgtest::run("redis-cli -h " + host + " -p " + std::to_string(port) + " " + command, 60);
  while (!r.out.empty() && (r.out.back() == '\n' || r.out.back() == '\r')) r.out.pop_back();
  return r.out;
}

inline bool wait_pong(const std::string& host, int port, std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (cli(host, port, "ping") == "PONG") return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

}  // namespace lgtest::redis
