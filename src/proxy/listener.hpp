#pragma once
// Listener: one route's listening socket. We accept ourselves (a uv_poll_t on the listening fd,
// accept4) instead of uv_listen, because libuv cannot pause a listener: on EMFILE it drops the
// waiting clients (its reserve-fd trick) or, once that fd is gone, retries accept() in a tight
// loop. Here an accept error such as EMFILE stops polling the socket and a timer resumes it
// after a back-off (100 ms doubling to 1 s); waiting clients stay in the kernel's backlog and are
// served when descriptors free up. One warning per burst, one info line when accepts work again.
//
// IPv6 listeners are IPV6_V6ONLY (as nginx does), so 0.0.0.0:P and [::]:P can both be routes.
// Lifetime: open() returns an object the route owns until close(); it frees itself once its
// handles are closed, and closes the socket only after the poll handle (never close a polled fd).
#include <uv.h>

#include <functional>
#include <string>

#include "config/url.hpp"

namespace lg::proxy {

class Listener {
 public:
  // Called with each accepted socket (non-blocking, close-on-exec); the callee owns it.
  using AcceptFn = std::function<void(int fd)>;
  // Called once per accept error (for a counter).
  using ErrorFn = std::function<void(int status)>;

  static Listener* open(uv_loop_t* loop, const HostPort& address, std::string name, AcceptFn on_accept,
                        ErrorFn on_error, std::string* error);
  void close();  // after this the pointer must not be used

  int port() const { return port_; }
  bool paused() const { return paused_; }

  static constexpr int kAcceptBatch = 128;  // accepts per readable event, then others get a turn
  static constexpr uint64_t kBackoffMinMs = 100;
  static constexpr uint64_t kBackoffMaxMs = 1000;

 private:
  Listener(uv_loop_t* loop, int fd, std::string name, AcceptFn on_accept, ErrorFn on_error);
  static void on_readable(uv_poll_t* handle, int status, int events);
  static void on_backoff(uv_timer_t* handle);
  static void on_closed(uv_handle_t* handle);
  void accept_batch();
  void pause(int status);

  uv_poll_t poll_{};
  uv_timer_t backoff_{};
  int fd_;
  int port_ = 0;
  std::string name_;
  AcceptFn on_accept_;
  ErrorFn on_error_;
  uint64_t delay_ms_ = kBackoffMinMs;
  uint64_t failures_in_burst_ = 0;
  bool paused_ = false;
  bool closing_ = false;
  int open_handles_ = 0;
};

}  // namespace lg::proxy
