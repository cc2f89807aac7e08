#include "integration/proxy_harness.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>

namespace lgtest::proxy {

// ---- sockets ----------------------------------------------------------------------------

int connect_to(const std::string& host, int port) {
  sockaddr_storage a{};
  socklen_t len = 0;
  auto* a4 = reinterpret_cast<sockaddr_in*>(&a);
  auto* a6 = reinterpret_cast<sockaddr_in6*>(&a);
  if (inet_pton(AF_INET, host.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof *a4;
  } else if (inet_pton(AF_INET6, host.c_str(), &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof *a6;
  } else {
    errno = EINVAL;
    return -1;
  }
  int fd = socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), len) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool send_all(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

double reset_close(Fd& c) {
  linger l{1, 0};
  setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  const double at = now_ms();
  ::close(c.fd);
  c.fd = -1;
  return at;
}

namespace {
// Waits for readability up to the deadline; false on timeout.
bool readable(int fd, double deadline) {
  for (;;) {
    double left = deadline - now_ms();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left) + 1);
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}
}  // namespace

std::string recv_n(int fd, size_t n, int timeout_ms) {
  std::string out;
  const double deadline = now_ms() + timeout_ms;
  char buf[65536];
  while (out.size() < n && readable(fd, deadline)) {
    ssize_t r = ::recv(fd, buf, std::min(sizeof buf, n - out.size()), 0);
    if (r <= 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

std::string recv_to_eof(int fd, int timeout_ms, bool* eof) {
  std::string out;
  const double deadline = now_ms() + timeout_ms;
  char buf[65536];
  if (eof) *eof = false;
  while (readable(fd, deadline)) {
    ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r == 0 && eof) *eof = true;
    if (r <= 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

const char* to_string(PeerEnd e) {
  switch (e) {
    case PeerEnd::Eof: return "eof";
    case PeerEnd::Reset: return "reset";
    case PeerEnd::Data: return "data";
    case PeerEnd::Timeout: return "timeout";
  }
  return "?";
}

PeerEnd wait_end(int fd, int timeout_ms, double* waited_ms) {
  const double start = now_ms();
  const double deadline = start + timeout_ms;
  PeerEnd end = PeerEnd::Timeout;
  if (readable(fd, deadline)) {
    char c;
    ssize_t r = ::recv(fd, &c, 1, 0);
    end = r == 0 ? PeerEnd::Eof : r > 0 ? PeerEnd::Data : PeerEnd::Reset;
  }
  if (waited_ms) *waited_ms = now_ms() - start;
  return end;
}

// ---- deterministic bytes ----------------------------------------------------------------

void ByteStream::fill(char* p, size_t n) {
  size_t i = 0;
  auto next = [this] {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 2685821657736338717ULL;
  };
  while (i < n) {
    if (left_ == 0 && n - i >= 8) {  // whole words: the fast path
      uint64_t w = next();
      std::memcpy(p + i, &w, 8);
      i += 8;
      continue;
    }
    if (left_ == 0) {
      word_ = next();
      left_ = 8;
    }
    p[i++] = static_cast<char>(word_ & 0xff);
    word_ >>= 8;
    --left_;
  }
}

void Checksum::add(const char* p, size_t n) {
  auto mix = [this](uint64_t w) {
    h_ ^= w;
    h_ *= 0x9E3779B97F4A7C15ULL;
    h_ ^= h_ >> 29;
  };
  size_t i = 0;
  while (i < n) {
    if (pending_len_ == 0 && n - i >= 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      mix(w);
      i += 8;
      continue;
    }
    pending_ |= static_cast<uint64_t>(static_cast<unsigned char>(p[i++])) << (8 * pending_len_);
    if (++pending_len_ == 8) {
      mix(pending_);
      pending_ = 0;
      pending_len_ = 0;
    }
  }
  total_ += n;
}

uint64_t Checksum::value() const {
  uint64_t h = h_ ^ pending_ ^ (static_cast<uint64_t>(pending_len_) << 56);
  return h ^ total_;
}

// ---- servers ----------------------------------------------------------------------------

TestServer::TestServer(Handler handler, const std::string& host, int backlog) : handler_(std::move(handler)) {
  sockaddr_storage a{};
  socklen_t len;
  auto* a4 = reinterpret_cast<sockaddr_in*>(&a);
  auto* a6 = reinterpret_cast<sockaddr_in6*>(&a);
  if (inet_pton(AF_INET, host.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    len = sizeof *a4;
  } else {
    REQUIRE(inet_pton(AF_INET6, host.c_str(), &a6->sin6_addr) == 1);
    a6->sin6_family = AF_INET6;
    len = sizeof *a6;
  }
  fd_ = socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&a), len) == 0);
  REQUIRE(listen(fd_, backlog) == 0);
  getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.ss_family == AF_INET6 ? a6->sin6_port : a4->sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

void TestServer::accept_loop() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    ++accepted_;
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::lock_guard<std::mutex> lock(mu_);
    workers_.emplace_back([this, c] {
      handler_(c);
      close(c);
    });
  }
}

TestServer::~TestServer() {
  stop_ = true;
  acceptor_.join();
  close(fd_);
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& w : workers_) w.join();
}

void echo_handler(int fd) {
  char buf[65536];
  for (;;) {
    ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r <= 0) break;
    if (!send_all(fd, buf, static_cast<size_t>(r))) return;
  }
  ::shutdown(fd, SHUT_WR);
}

void answer_after_eof_handler(int fd) {
  std::string all = recv_to_eof(fd, 30000);
  send_all(fd, all.data(), all.size());
  ::shutdown(fd, SHUT_WR);
}

// ---- the forwarder under test -----------------------------------------------------------

lg::config::ForwardSettings forward_to(const std::string& upstream_host, int upstream_port, const std::string& listen) {
  lg::config::ForwardSettings s;
  lg::config::ForwardRoute r;
  // parse_host_port refuses port 0 (a setting must name a port): split by hand.
  auto colon = listen.rfind(':');
  REQUIRE(colon != std::string::npos);
  r.listen.host = listen.substr(0, colon);
  if (r.listen.host.front() == '[') r.listen.host = r.listen.host.substr(1, r.listen.host.size() - 2);
  r.listen.port = static_cast<uint16_t>(std::stoi(listen.substr(colon + 1)));
  r.upstream.host = upstream_host;
  r.upstream.port = static_cast<uint16_t>(upstream_port);
  const bool v6 = upstream_host.find(':') != std::string::npos;
  r.name = listen + "=" + (v6 ? "[" + upstream_host + "]" : upstream_host) + ":" + std::to_string(upstream_port);
  s.routes.push_back(r);
  s.health_component = "";
  return s;
}

ForwarderThread::ForwarderThread(lg::config::ForwardSettings settings, const std::string& component)
    : settings_(std::move(settings)) {
  if (!component.empty()) component_ = &health_.add(component, true, "test");
  std::string error;
  bool ok = false;
  call([&] {
    forwarder_ = std::make_unique<lg::proxy::Forwarder>(loop_.get(), settings_, health_, registry_);
    ok = forwarder_->start(&error);
    ports_ = forwarder_->ports();
  });
  INFO(error);
  REQUIRE(ok);
}

ForwarderThread::~ForwarderThread() {
  call([this] { forwarder_->close_all(); });
  call([this] { forwarder_.reset(); });  // sessions still closing must not need it
  loop_.stop();  // every session's handles closed, or the test fails
}

void ForwarderThread::set_component(bool up) {
  REQUIRE(component_ != nullptr);
  call([&] {
    health_.record(*component_, up ? lg::probes::Outcome::success() : lg::probes::Outcome::failure("refused", "test"),
                   1, 1, false);
  });
}

double ForwarderThread::metric(const std::string& name, const Labels& labels, size_t route) {
  std::string text;
  call([&] { text = registry_.expose(); });
  Labels all = labels;
  all["route"] = route_name(route);
  return Scrape(text).get(name, all).value_or(-1);
}

size_t ForwarderThread::active() {
  size_t n = 0;
  call([&] { n = forwarder_->active_sessions(); });
  return n;
}

bool ForwarderThread::no_session_left(int timeout_ms) {
  const double deadline = now_ms() + timeout_ms;
  while (now_ms() < deadline) {
    if (active() == 0 && metric("lettagate_proxy_connections_active") == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

bool ForwarderThread::wait_held(size_t sessions, uint64_t bytes, int timeout_ms) {
  const double deadline = now_ms() + timeout_ms;
  bool held = false;
  while (!held && now_ms() < deadline) {
    call([&] { held = forwarder_->held_sessions() == sessions && sockets_read(loop_.get(), bytes); });
    if (!held) std::this_thread::sleep_for(std::chrono::milliseconds(5));  // both change on the loop thread
  }
  return held;
}

size_t ForwarderThread::buffered_bytes() {
  size_t n = 0;
  call([&] { n = forwarder_->buffered_bytes(); });
  return n;
}

}  // namespace lgtest::proxy
