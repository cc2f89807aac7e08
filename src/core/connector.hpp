#pragma once
// Connector: connects its owner's TCP handle to the first of a list of addresses that accepts,
// trying each in turn (getaddrinfo's order) under its own deadline (or the owner's: a proxied
// session's one timer also serves its hold deadline). The HTTP and TCP probe
// attempts and the forwarder's sessions connect with it. The rules:
//   - It lives inside its owner and uses the owner's HandleGroup: the socket is the owner's
//     Handle<uv_tcp_t>, the connector's deadline timer is counted in the same group.
//   - After start() the owner hears exactly one of Client::on_connected() (the socket is open
//     and connected: the owner's from now on) or Client::on_connect_failed(status) (every
//     address failed; status is the last one's error, UV_ETIMEDOUT for a deadline), never from
//     inside start(), and nothing after cancel().
//   - A socket whose connect failed cannot connect again: it is closed, and the next address is
//     tried on the same handle once its close callback has run.
// Retrying a failed connect with back-off is the owner's choice (the forwarder's sessions:
// proxy/proxy_session.hpp), not the connector's.
#include <uv.h>

#include <cstddef>

#include "core/duration.hpp"
#include "core/handle.hpp"
#include "core/net_address.hpp"

namespace lg::core {

class Connector {
 public:
  class Client {
   public:
    virtual void on_connected() = 0;
    virtual void on_connect_failed(int status) = 0;
    // An address is being tried (for an owner that keeps the deadline itself).
    virtual void on_address_tried() {}

   protected:
    ~Client() = default;
  };

  // `socket_data`: the socket's data for the owner's callbacks once it is connected.
  Connector(uv_loop_t* loop, HandleGroup& group, Handle<uv_tcp_t>& socket, void* socket_data, Client& client);
  Connector(const Connector&) = delete;
  Connector& operator=(const Connector&) = delete;

  // Tries `addresses` (not empty) in turn; `per_address` 0: no deadline of its own.
  void start(Addresses addresses, Millis per_address);
  // Stops: closes the socket if it is not connected yet, and the timer; no callback after this.
  void cancel();
  // The owner's own deadline for the address being tried has passed: the next one is tried
  // (status as its error). Nothing happens while none is being tried.
  void give_up_on_current(int status);
  bool connecting() const { return connecting_; }
  const Addresses& addresses() const { return addresses_; }

 private:
  void try_next();
  void give_up_on_address(int status);
  void finish();
  static void on_connect(uv_connect_t* req, int status);
  static void on_timeout(uv_timer_t* timer);
  static void on_socket_closed(void* self);

  uv_loop_t* loop_;
  Handle<uv_tcp_t>& socket_;
  void* socket_data_;
  Client& client_;
  Handle<uv_timer_t> timer_;  // open while connecting with a deadline
  uv_connect_t req_{};
  Addresses addresses_;
  size_t next_ = 0;
  Millis per_address_{0};
  int last_error_ = UV_ECONNREFUSED;
  bool connecting_ = false;
};

}  // namespace lg::core
