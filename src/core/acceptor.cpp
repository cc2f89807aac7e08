#include "core/acceptor.hpp"

#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/log.hpp"
#include "core/net_address.hpp"

namespace lg::core {

namespace {

// A bound, listening, non-blocking socket, or -1 with *error set.
int listen_socket(const HostPort& address, const Acceptor::Options& o, int* port, std::string* error) {
  const std::string who = o.name_errors ? o.name + ": " : std::string();
  const auto addr = parse_ip_literal(address.host, address.port);
  if (!addr) {
    if (error) *error = fmt::format("{}listen address {} is not an IP address", who, address.host);
    return -1;
  }
  const socklen_t len = addr->ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  int fd = ::socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    if (error) *error = fmt::format("{}socket: {}", who, uv_strerror(-errno));
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (addr->ss_family == AF_INET6 && o.v6only) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&*addr), len) != 0 || ::listen(fd, SOMAXCONN) != 0) {
    const int err = -errno;
    ::close(fd);
    if (error) *error = fmt::format("{}cannot listen on {}: {}", who, address.str(), uv_strerror(err));
    return -1;
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
  *port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return fd;
}

}  // namespace

Acceptor* Acceptor::open(uv_loop_t* loop, const HostPort& address, Options options, AcceptFn on_accept,
                         ErrorFn on_error, std::string* error) {
  int port = 0;
  const int fd = listen_socket(address, options, &port, error);
  if (fd < 0) return nullptr;
  auto* a = new Acceptor(fd, std::move(options), std::move(on_accept), std::move(on_error));
  a->port_ = port;
  if (const int rc = a->poll_.init(a, uv_poll_init_socket, loop, fd); rc != 0) {
    if (error) *error = fmt::format("{}: cannot watch {}: {}", a->options_.name, address.str(), uv_strerror(rc));
    a->close();  // nothing open: frees it and closes the socket
    return nullptr;
  }
  a->backoff_.init(a, uv_timer_init, loop);
  uv_poll_start(a->poll_.get(), UV_READABLE, on_readable);
  return a;
}

Acceptor::Acceptor(int fd, Options options, AcceptFn on_accept, ErrorFn on_error)
    : fd_(fd), options_(std::move(options)), on_accept_(std::move(on_accept)), on_error_(std::move(on_error)) {}

// Runs once the poll handle is closed: never close a polled fd.
Acceptor::~Acceptor() { ::close(fd_); }

void Acceptor::on_readable(uv_poll_t* handle, int status, int) {
  auto* self = static_cast<Acceptor*>(handle->data);
  if (status < 0) {
    self->pause(status);
    return;
  }
  self->accept_batch();
}

void Acceptor::accept_batch() {
  // on_accept_ may close() us: the handles are then closing, so the memory stays until later.
  for (int i = 0; i < options_.per_turn && !group_.closed(); ++i) {
    int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;  // that client gave up
      pause(-err);
      return;
    }
    if (failures_in_burst_ > 0) {
      log::get(options_.log_component)
          .info("{}: accepting again after {} failed accept(s)", options_.name, failures_in_burst_);
      failures_in_burst_ = 0;
      delay_ms_ = kBackoffMinMs;
    }
    on_accept_(fd);
  }
}

void Acceptor::pause(int status) {
  if (failures_in_burst_++ == 0) {
    log::get(options_.log_component)
        .warn("{}: accept failed: {}; pausing accepts (back-off {} ms up to {} ms)", options_.name,
              uv_strerror(status), delay_ms_, kBackoffMaxMs);
  }
  if (on_error_) on_error_(status);
  paused_ = true;
  uv_poll_stop(poll_.get());
  uv_timer_start(backoff_.get(), on_backoff, delay_ms_, 0);
  delay_ms_ = std::min(delay_ms_ * 2, kBackoffMaxMs);
}

void Acceptor::on_backoff(uv_timer_t* handle) {
  auto* self = static_cast<Acceptor*>(handle->data);
  self->paused_ = false;
  uv_poll_start(self->poll_.get(), UV_READABLE, on_readable);
}

// uv_close stops the poll and the timer at once: no callback of ours runs after this.
void Acceptor::close() {
  if (group_.closed()) return;
  // The callbacks stay: close() may run inside one.
  poll_.close();
  backoff_.close();
  group_.close();
}

}  // namespace lg::core
