#include "support/test_env.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace lgtest {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  INFO("environment variable " << name << " is missing: run the suite through scripts/test, which starts the services");
  REQUIRE(v != nullptr);
  return v;
}

int env_int(const char* name) { return std::stoi(env(name)); }

std::string binary() { return LG_BINARY_PATH; }
std::string source_dir() { return LG_SOURCE_DIR; }

CommandResult run(const std::string& command, int timeout_s) {
  CommandResult r;
  std::string full = "timeout " + std::to_string(timeout_s) + " sh -c '" + [&] {
    std::string esc;
    for (char c : command) esc += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return esc;
  }() + "' 2>&1";
  FILE* p = popen(full.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

void services(const std::string& cmd) {
  auto r = run(source_dir() + "/scripts/services " + cmd, 120);
  INFO("scripts/services " << cmd << ":\n" << r.out);
  REQUIRE(r.exit_code == 0);
}

int bind_loopback(int* port, int flags, bool reuse_address) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
  REQUIRE(fd >= 0);
  if (reuse_address) {
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  *port = ntohs(a.sin_port);
  return fd;
}

int free_port() {
  int port = 0;
  bind_loopback(&port, 0, true);  // the socket stays open on purpose (see the header): closed when we exit
  return port;
}

HttpResult http_get(int port, const std::string& path, int timeout_ms) {
  HttpResult res;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return res;
  }
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  (void)!write(fd, req.data(), req.size());
  std::string data;
  char buf[8192];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  auto sp = data.find(' ');
  if (sp == std::string::npos) return res;
  res.status = std::atoi(data.c_str() + sp + 1);
  auto end = data.find("\r\n\r\n");
  res.headers = data.substr(0, end);
  if (end != std::string::npos) res.body = data.substr(end + 4);
  return res;
}

Process::Process(const std::string& args, const std::string& env_prefix) {
  char tmpl[] = "/tmp/lettagate-test-XXXXXX";
  int fd = mkstemp(tmpl);
  close(fd);
  log_path_ = tmpl;
  std::string cmd = env_prefix + " exec " + binary() + " " + args + " >" + log_path_ + " 2>&1";
  pid_ = fork();
  if (pid_ == 0) {
    setpgid(0, 0);
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
}

Process::~Process() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    if (wait(5000) == -1) {
      kill(pid_, SIGKILL);
      wait(5000);
    }
  }
  unlink(log_path_.c_str());
}

int Process::wait(int timeout_ms) {
  if (pid_ <= 0) return -1;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

void Process::signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

std::string Process::log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Process::wait_log(const std::string& text, int timeout_ms) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (log().find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // a file has no event to wait on here
  }
  return true;
}

bool wait_live(int port, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (http_get(port, "/livez", 500).status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace lgtest
