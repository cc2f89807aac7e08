#include "proxy/listener.hpp"

#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/log.hpp"
#include "core/net_address.hpp"

namespace lg::proxy {

namespace {

int parse_listen_address(const HostPort& at, sockaddr_storage* addr, socklen_t* len) {
  const auto parsed = parse_ip_literal(at.host, at.port);
  if (!parsed) return UV_EINVAL;
  *addr = *parsed;
  *len = parsed->ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  return 0;
}

}  // namespace

Listener* Listener::open(uv_loop_t* loop, const HostPort& address, std::string name, AcceptFn on_accept,
                         ErrorFn on_error, std::string* error) {
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (parse_listen_address(address, &addr, &len) != 0) {
    if (error) *error = fmt::format("{}: listen address {} is not an IP address", name, address.host);
    return nullptr;
  }
  int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    if (error) *error = fmt::format("{}: socket: {}", name, uv_strerror(-errno));
    return nullptr;
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (addr.ss_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd, SOMAXCONN) != 0) {
    const int err = -errno;
    ::close(fd);
    if (error) *error = fmt::format("{}: cannot listen on {}: {}", name, address.str(), uv_strerror(err));
    return nullptr;
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
  auto* l = new Listener(loop, fd, std::move(name), std::move(on_accept), std::move(on_error));
  l->port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                               : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  uv_poll_start(&l->poll_, UV_READABLE, on_readable);
  return l;
}

Listener::Listener(uv_loop_t* loop, int fd, std::string name, AcceptFn on_accept, ErrorFn on_error)
    : fd_(fd), name_(std::move(name)), on_accept_(std::move(on_accept)), on_error_(std::move(on_error)) {
  uv_poll_init_socket(loop, &poll_, fd_);
  poll_.data = this;
  uv_timer_init(loop, &backoff_);
  backoff_.data = this;
  open_handles_ = 2;
}

void Listener::on_readable(uv_poll_t* handle, int status, int) {
  auto* self = static_cast<Listener*>(handle->data);
  if (self->closing_) return;
  if (status < 0) {
    self->pause(status);
    return;
  }
  self->accept_batch();
}

void Listener::accept_batch() {
  for (int i = 0; i < kAcceptBatch && !closing_; ++i) {
    int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;  // that client gave up
      pause(-err);
      return;
    }
    if (failures_in_burst_ > 0) {
      log::get("proxy").info("{}: accepting again after {} failed accept(s)", name_, failures_in_burst_);
      failures_in_burst_ = 0;
      delay_ms_ = kBackoffMinMs;
    }
    on_accept_(fd);
  }
}

void Listener::pause(int status) {
  if (failures_in_burst_++ == 0) {
    log::get("proxy").warn("{}: accept failed: {}; pausing accepts (back-off {} ms up to {} ms)", name_,
                            uv_strerror(status), delay_ms_, kBackoffMaxMs);
  }
  if (on_error_) on_error_(status);
  paused_ = true;
  uv_poll_stop(&poll_);
  uv_timer_start(&backoff_, on_backoff, delay_ms_, 0);
  delay_ms_ = std::min(delay_ms_ * 2, kBackoffMaxMs);
}

void Listener::on_backoff(uv_timer_t* handle) {
  auto* self = static_cast<Listener*>(handle->data);
  if (self->closing_) return;
  self->paused_ = false;
  uv_poll_start(&self->poll_, UV_READABLE, on_readable);
}

void Listener::close() {
  if (closing_) return;
  closing_ = true;  // the callbacks stay (close() may run inside one) but are never called again
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_), on_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&backoff_), on_closed);
}

void Listener::on_closed(uv_handle_t* handle) {
  auto* self = static_cast<Listener*>(handle->data);
  if (--self->open_handles_ > 0) return;
  ::close(self->fd_);  // the poll handle is gone: safe to close the socket now
  delete self;
}

}  // namespace lg::proxy

