#include "probes/tcp_connect.hpp"

#include "core/net_address.hpp"

namespace lg::probes {

TcpConnect* TcpConnect::start(uv_loop_t* loop, const std::string& host, uint16_t port, Callback cb) {
  auto* c = new TcpConnect(loop, host, port, std::move(cb));
  c->begin();
  return c;
}

void TcpConnect::begin() {
  ++refs_;  // held by begin() itself until it returns
  if (auto addr = parse_ip_literal(host_, port_)) {
    addresses_.push_back(*addr);
    connect_next();
  } else {
    auto* req = new uv_getaddrinfo_t;
    req->data = this;
    const addrinfo hints = tcp_lookup_hints();
    ++refs_;
    int rc = uv_getaddrinfo(
        loop_, req,
        [](uv_getaddrinfo_t* r, int status, addrinfo* res) {
          auto* self = static_cast<TcpConnect*>(r->data);
          delete r;
          if (!self->done_) {
            if (status != 0) {
              self->finish(status);
            } else {
              self->addresses_ = answer_addresses(res);
              self->connect_next();
            }
          }
          uv_freeaddrinfo(res);
          self->release();
        },
        host_.c_str(), std::to_string(port_).c_str(), &hints);
    if (rc != 0) {
      delete req;
      --refs_;
      finish(rc);
    }
  }
  release();
}

void TcpConnect::connect_next() {
  if (done_) return;
  if (next_ >= addresses_.size()) {
    finish(last_error_);
    return;
  }
  const auto& addr = addresses_[next_++];
  socket_ = new uv_tcp_t;
  uv_tcp_init(loop_, socket_);
  socket_->data = this;
  ++refs_;
  auto* req = new uv_connect_t;
  req->data = this;
  int rc = uv_tcp_connect(req, socket_, reinterpret_cast<const sockaddr*>(&addr), [](uv_connect_t* r, int status) {
    auto* self = static_cast<TcpConnect*>(r->data);
    delete r;
    if (!self->done_) {
      if (status == 0) {
        self->finish(0);
      } else {
        self->last_error_ = status;
        self->close_socket();
        self->connect_next();
      }
    }
    self->release();
  });
  if (rc != 0) {
    delete req;
    last_error_ = rc;
    close_socket();
    connect_next();
    return;
  }
  ++refs_;
}

void TcpConnect::finish(int status) {
  if (done_) return;
  done_ = true;
  auto cb = std::move(cb_);
  cb_ = nullptr;
  if (cb) cb(status, status == 0 ? socket_ : nullptr);
  close_socket();
}

void TcpConnect::cancel() {
  if (done_) return;
  done_ = true;
  cb_ = nullptr;
  close_socket();
}

void TcpConnect::close_socket() {
  if (!socket_) return;
  uv_close(reinterpret_cast<uv_handle_t*>(socket_), [](uv_handle_t* h) {
    auto* self = static_cast<TcpConnect*>(h->data);
    delete reinterpret_cast<uv_tcp_t*>(h);
    self->release();
  });
  socket_ = nullptr;
}

void TcpConnect::release() {
  if (--refs_ == 0 && done_) delete this;
}

}  // namespace lg::probes
