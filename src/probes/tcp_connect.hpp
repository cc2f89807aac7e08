#pragma once
// TcpConnect: resolve a name (uv_getaddrinfo; IP literals skip it) and connect, trying each
// address in turn. Calls back once with 0 and the connected socket (which it then closes: a
// probe that only wants to know whether the port answers), or with the libuv error. Frees
// itself when its handles are closed. After cancel() the callback is not called.
#include <uv.h>

#include <functional>
#include <string>
#include <vector>

namespace lg::probes {

class TcpConnect {
 public:
  using Callback = std::function<void(int status, uv_tcp_t* socket)>;
  static TcpConnect* start(uv_loop_t* loop, const std::string& host, uint16_t port, Callback cb);
  void cancel();

 private:
  TcpConnect(uv_loop_t* loop, std::string host, uint16_t port, Callback cb)
      : loop_(loop), host_(std::move(host)), port_(port), cb_(std::move(cb)) {}
  void begin();
  void connect_next();
  void finish(int status);
  void close_socket();
  void release();

  uv_loop_t* loop_;
  std::string host_;
  uint16_t port_;
  Callback cb_;
  std::vector<sockaddr_storage> addresses_;
  size_t next_ = 0;
  int last_error_ = UV_ECONNREFUSED;
  uv_tcp_t* socket_ = nullptr;
  bool done_ = false;
  int refs_ = 0;
};

}  // namespace lg::probes
