#pragma once
// Helpers for the forwarder tests: blocking sockets, deterministic random byte streams with a
// checksum, small thread-per-connection servers (echo, answer-after-EOF, push, SSE), and the
// Forwarder running on a LoopThread (support/test_loop.hpp) with a health state the
// test can flip. Everything binds loopback and port 0.
#include <unistd.h>
#include <uv.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "metrics/registry.hpp"
#include "probes/health_state.hpp"
#include "proxy/forwarder.hpp"
#include "support/scrape.hpp"
#include "support/test_loop.hpp"

namespace lgtest::proxy {

// ---- sockets ----------------------------------------------------------------------------
// Owns a socket descriptor: closed when it goes out of scope.
struct Fd {
  int fd;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

// A connected blocking socket to host:port (IPv4 or IPv6 literal), or -1 (errno set).
int connect_to(const std::string& host, int port);
bool send_all(int fd, const void* data, size_t n);
// Reads exactly n bytes (or until EOF/error/timeout); returns what arrived.
std::string recv_n(int fd, size_t n, int timeout_ms);
// Reads until EOF (or timeout); returns what arrived. *eof tells whether EOF was seen.
std::string recv_to_eof(int fd, int timeout_ms, bool* eof = nullptr);
enum class PeerEnd { Eof, Reset, Data, Timeout };
const char* to_string(PeerEnd e);
// Waits for the peer to close the socket; returns how it ended and the wait in ms.
PeerEnd wait_end(int fd, int timeout_ms, double* waited_ms = nullptr);
double now_ms();  // steady clock, milliseconds
// Closes the socket with an RST (SO_LINGER 0); returns when it did (now_ms()).
double reset_close(Fd& c);

// ---- deterministic bytes ----------------------------------------------------------------
// xorshift64* stream: the same seed gives the same bytes, so nothing big needs storing.
class ByteStream {
 public:
  explicit ByteStream(uint64_t seed) : s_(seed | 1) {}
  void fill(char* p, size_t n);

 private:
  uint64_t s_;
  uint64_t word_ = 0;
  int left_ = 0;
};
// Order-sensitive 64-bit checksum, fed in pieces of any size.
class Checksum {
 public:
  void add(const char* p, size_t n);
  uint64_t value() const;
  uint64_t bytes() const { return total_; }

 private:
  uint64_t h_ = 1469598103934665603ULL;
  uint64_t pending_ = 0;  // bytes of a word not complete yet
  int pending_len_ = 0;
  uint64_t total_ = 0;
};

// ---- servers ----------------------------------------------------------------------------
class TestServer {
 public:
  using Handler = std::function<void(int fd)>;  // the server closes fd after the handler
  explicit TestServer(Handler handler, const std::string& host = "127.0.0.1", int backlog = 128);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;
  int port() const { return port_; }
  int connections() const { return accepted_.load(); }

 private:
  void accept_loop();
  Handler handler_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> workers_;
};

// Echoes every byte; at EOF shuts its write side down.
void echo_handler(int fd);
// Reads until EOF, then sends everything back (tests the client's half-close).
void answer_after_eof_handler(int fd);

// ---- the forwarder under test -----------------------------------------------------------
// A route from 127.0.0.1:0 (or `listen`) to upstream; other settings at their defaults.
lg::config::ForwardSettings forward_to(const std::string& upstream_host, int upstream_port,
                                       const std::string& listen = "127.0.0.1:0");

class ForwarderThread {
 public:
  // `component`: a component of that name is added to the health state (status unknown) and
  // the settings' health_component must name it to follow it.
  explicit ForwarderThread(lg::config::ForwardSettings settings, const std::string& component = "");
  ~ForwarderThread();
  ForwarderThread(const ForwarderThread&) = delete;
  ForwarderThread& operator=(const ForwarderThread&) = delete;

  int port(size_t route = 0) const { return ports_.at(route); }
  const std::string& route_name(size_t route = 0) const { return settings_.routes.at(route).name; }
  // Runs fn on the loop thread and waits for it (bounded: the test fails if the loop is stuck).
  void call(const std::function<void()>& fn) { loop_.call(fn); }
  lg::proxy::Forwarder& forwarder() { return *forwarder_; }  // only inside call()
  // Records one probe result (rise = fall = 1): true turns the component up, false down.
  void set_component(bool up);
  // The value of one series, e.g. metric("lettagate_proxy_connections_rejected_total",
  // {{"reason", "limit"}}): the route's label added; -1 when absent.
  double metric(const std::string& name, const Labels& labels = {}, size_t route = 0);
  size_t active();
  size_t buffered_bytes();
  // Waits until `sessions` clients are held and the forwarder has read `bytes` from its sockets
  // (a held client's first chunk is read and kept); false after timeout_ms.
  bool wait_held(size_t sessions, uint64_t bytes, int timeout_ms);
  // Waits until no session is left and the active gauge says so; false after timeout_ms.
  bool no_session_left(int timeout_ms);

 private:
  lg::config::ForwardSettings settings_;
  LoopThread loop_;  // destroyed last: the forwarder is gone before the loop stops
  lg::metrics::Registry registry_;
  lg::probes::HealthState health_;
  lg::probes::Component* component_ = nullptr;
  std::unique_ptr<lg::proxy::Forwarder> forwarder_;
  std::vector<int> ports_;
};

}  // namespace lgtest::proxy
