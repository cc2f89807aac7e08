#include "core/connector.hpp"

#include <cassert>

namespace lg::core {

Connector::Connector(uv_loop_t* loop, HandleGroup& group, Handle<uv_tcp_t>& socket, void* socket_data,
                     Client& client)
    : loop_(loop), socket_(socket), socket_data_(socket_data), client_(client), timer_(group) {
  req_.data = this;
}

void Connector::start(Addresses addresses, Millis per_address) {
  assert(addresses && !addresses->empty() && !connecting_);
  addresses_ = std::move(addresses);
  next_ = 0;
  per_address_ = per_address;
  last_error_ = UV_ECONNREFUSED;
  connecting_ = true;
  if (per_address_.count() > 0 && !timer_.open()) timer_.init(this, uv_timer_init, loop_);
  try_next();
}

// Every outcome of an address comes later: its connect callback, its deadline, or (when the
// connect fails at once) the socket's close callback.
void Connector::try_next() {
  if (next_ >= addresses_->size()) {
    const int status = last_error_;
    finish();
    client_.on_connect_failed(status);
    return;
  }
  const sockaddr_storage& addr = (*addresses_)[next_++];
  socket_.init(socket_data_, uv_tcp_init, loop_);  // no family yet: cannot fail
  if (timer_.open()) {
    uv_timer_start(timer_.get(), on_timeout, static_cast<uint64_t>(per_address_.count()), 0);
  }
  client_.on_address_tried();
  const int rc = uv_tcp_connect(&req_, socket_.get(), reinterpret_cast<const sockaddr*>(&addr), on_connect);
  if (rc != 0) give_up_on_address(rc);  // e.g. EMFILE, or no route for that family: no callback
}

void Connector::on_connect(uv_connect_t* req, int status) {
  auto* self = static_cast<Connector*>(req->data);
  // UV_ECANCELED: the socket is closing (a deadline, or cancel()); its close callback goes on.
  if (status == UV_ECANCELED || !self->connecting_ || !self->socket_.open()) return;
  if (status != 0) {
    self->give_up_on_address(status);
    return;
  }
  self->finish();
  self->client_.on_connected();
}

void Connector::on_timeout(uv_timer_t* timer) {
  static_cast<Connector*>(timer->data)->give_up_on_current(UV_ETIMEDOUT);
}

void Connector::give_up_on_current(int status) {
  if (connecting_ && socket_.open()) give_up_on_address(status);
}

void Connector::give_up_on_address(int status) {
  last_error_ = status;
  if (timer_.open()) uv_timer_stop(timer_.get());
  socket_.close(on_socket_closed, this);
}

void Connector::on_socket_closed(void* self) {
  auto* c = static_cast<Connector*>(self);
  if (c->connecting_) c->try_next();
}

void Connector::finish() {
  connecting_ = false;
  timer_.close();
}

void Connector::cancel() {
  if (!connecting_) return;
  finish();
  socket_.close();
}

}  // namespace lg::core
