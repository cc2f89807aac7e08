#pragma once
// One client connection of the HttpServer. Owns its uv_tcp_t (a Handle<> of its HandleGroup:
// created with new, freed once close() was called and the socket is closed) and a Deadline of
// the server's Clock for the header, keep-alive and linger deadlines.
//
// Backpressure: once its unsent output passes a high-water mark, the connection stops parsing
// (pipelined requests stay unparsed, copied out of the shared read buffer) and reading; when
// the output drains below the low-water mark it parses the rest, then reads again. So a client
// that pipelines requests and never reads costs at most the marks, and one connection's burst
// is answered a high-water mark per loop turn, never holding the loop.
#include <uv.h>

#include <string>
#include <string_view>

#include "core/deadline.hpp"
#include "core/handle.hpp"
#include "http/connection_list.hpp"
#include "http/http_message.hpp"
#include "http/request_parser.hpp"

namespace lg::http {

template <class Clock>
class BasicHttpServer;

template <class Clock>
class BasicHttpConnection {
 public:
  using Server = BasicHttpServer<Clock>;
  BasicHttpConnection(Server* server, uv_loop_t* loop);
  uv_tcp_t* tcp() { return tcp_.get(); }
  // Starts reading and arms the first header deadline.
  void start();
  // Answers 503 and closes: the connection cap is reached.
  void reject_busy();
  void close();
  // The server is going away: stop calling back into it.
  void detach() { server_ = nullptr; }
  // Draining: answer what is in flight with Connection: close; close if idle.
  void drain();

 private:
  friend class ConnectionList<BasicHttpConnection>;
  friend class BasicHttpServer<Clock>;
  friend class lg::core::HandleGroup;
  ~BasicHttpConnection() = default;
  enum class State { Idle, Reading, Lingering, Closing };

  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void on_write(uv_write_t* req, int status);
  static void on_shutdown(uv_shutdown_t* req, int status);

  void feed(const char* data, size_t len);
  void pause_input(const char* rest, size_t len);
  void resume_input();
  void after_write();
  size_t unsent() const;
  void on_request_begin();
  bool on_request(const Request& req);
  void respond(const Request& req, const Response& res, bool keep_alive);
  void fail(int status, const char* why);
  void flush();
  bool queue_write(size_t offset);
  void take_tail();
  void linger();
  void extend_linger();
  void on_deadline();

  Server* server_;
  typename ConnectionList<BasicHttpConnection>::Hook hook_;  // in one of the server's lists
  core::HandleGroup group_{this};
  core::Handle<uv_tcp_t> tcp_{group_};
  core::BasicDeadline<Clock> deadline_;  // header, keep-alive idle or linger, by state
  RequestParser parser_;
  State state_ = State::Idle;
  bool first_request_ = true;
  bool close_after_flush_ = false;
  bool draining_ = false;
  bool input_paused_ = false;  // unsent output passed the high-water mark: not parsing, not reading
  bool resume_queued_ = false;  // in the server's to_resume_
  size_t writes_pending_ = 0;
  uint64_t linger_ends_by_ = 0;  // the clock's ms: the linger's end, however much input comes
  std::string pending_input_;  // what a paused read left unparsed
  std::string out_;  // responses produced by one read, written together (pipelining)
  // The last response's body when it is kept elsewhere (Response::shared): written after
  // out_ by flush() at the end of the same read, or copied into out_ before anything else
  // is answered, so it never outlives the handler's promise.
  std::string_view tail_;
};

}  // namespace lg::http
