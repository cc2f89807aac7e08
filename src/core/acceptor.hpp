#pragma once
// Acceptor: a listening socket, the one way lettagate accepts (the health server and each
// forwarder route). We accept ourselves (a uv_poll_t on the listening fd, accept4) instead of
// uv_listen, because libuv cannot pause a listener: on EMFILE it drops the waiting clients (its
// reserve-fd trick) or, once that fd is gone, retries accept() in a tight loop. Here an accept
// error such as EMFILE stops polling the socket and a timer resumes it after a back-off (100 ms
// doubling to 1 s); waiting clients stay in the kernel's backlog and are served when descriptors
// free up. One warning per burst, one info line when accepts work again.
//
// At most `per_turn` connections are accepted per readable event, which is once per loop turn
// (uv_poll is level-triggered): the rest wait in the kernel's backlog for the next turn, so a
// burst of newcomers spreads over turns and the loop's other work gets its turn in between.
//
// IPv6 sockets are IPV6_V6ONLY when asked (the forwarder, as nginx does, so 0.0.0.0:P and [::]:P
// can both be routes).
// Lifetime: a HandleGroup object (core/handle_group.hpp): open() returns it, its creator calls
// close() once (after which the pointer must not be used), and it frees itself once its poll
// handle and timer are closed; the socket is closed then, never while it is still polled.
#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>

#include "core/host_port.hpp"
#include "core/handle.hpp"

namespace lg::core {

class Acceptor {
 public:
  // Called with each accepted socket (non-blocking, close-on-exec); the callee owns it.
  using AcceptFn = std::function<void(int fd)>;
  // Called once per accept error (for a counter).
  using ErrorFn = std::function<void(int status)>;
  struct Options {
    std::string name;                 // in log lines (and errors, with name_errors)
    bool name_errors = true;          // errors begin with "name: "
    const char* log_component = "";   // the component whose logger reports accept errors
    int per_turn = 128;               // accepts per readable event
    bool v6only = true;               // IPV6_V6ONLY on an IPv6 address
  };

  // nullptr with *error set when the address is no IP literal or cannot be bound.
  static Acceptor* open(uv_loop_t* loop, const HostPort& address, Options options, AcceptFn on_accept,
                        ErrorFn on_error, std::string* error);
  void close();  // after this the pointer must not be used

  int port() const { return port_; }
  bool paused() const { return paused_; }

  static constexpr uint64_t kBackoffMinMs = 100;
  static constexpr uint64_t kBackoffMaxMs = 1000;

 private:
  friend class HandleGroup;
  Acceptor(int fd, Options options, AcceptFn on_accept, ErrorFn on_error);
  ~Acceptor();
  static void on_readable(uv_poll_t* handle, int status, int events);
  static void on_backoff(uv_timer_t* handle);
  void accept_batch();
  void pause(int status);

  HandleGroup group_{this};
  Handle<uv_poll_t> poll_{group_};
  Handle<uv_timer_t> backoff_{group_};
  int fd_;
  int port_ = 0;
  Options options_;
  AcceptFn on_accept_;
  ErrorFn on_error_;
  uint64_t delay_ms_ = kBackoffMinMs;
  uint64_t failures_in_burst_ = 0;
  bool paused_ = false;
};

}  // namespace lg::core
