#pragma once
// Pipe: one direction of a proxied connection, src -> dst (after Node's stream_pipe.cc and
// pgbouncer's sbuf.c).
//
// Hot path: a read lands in the pool's scratch block and goes straight to uv_try_write; when
// the kernel takes it all (the usual case: SSE events, requests, replies) nothing is queued and
// nothing is allocated. What the kernel does not take is queued with uv_write from the same
// block (no copy). Backpressure: after queueing, if the blocks waiting on dst hold kHighWater
// (four 64 KiB blocks) the pipe stops reading src; a write completion that brings them down to
// kLowWater resumes reading. The mark counts blocks, not bytes in dst's write queue, because a
// trickle of small reads (SSE events to a stalled client) would otherwise pin a 64 KiB block
// per event: a reader that never reads holds at most kHighWater per pipe, whatever the sizes.
//
// Half-close: EOF on src shuts dst's write side down with uv_shutdown, which libuv runs after
// the queued writes; the pipe is then done() and the other direction goes on. An EOF is only
// believed when src has no pending socket error: libuv 1.44 reports POLLHUP after a short read
// as UV_EOF without reading again (uv__stream_io, src/unix/stream.c), and a peer's RST raises
// POLLHUP, so a reset that follows data would otherwise pass on as a FIN. Errors (read,
// write, shutdown) are reported once to the owner, which closes both sockets; after stop() the
// pipe does nothing (callbacks that still arrive, UV_ECANCELED ones first, only give blocks back).
//
// The owner sets src->data to itself and gives the pipe the alloc/read callbacks to register,
// because each stream is the source of one pipe and the destination of the other.
#include <uv.h>

#include <cstdint>

#include "metrics/registry.hpp"
#include "proxy/buffer_pool.hpp"

namespace lg::proxy {

class Pipe;

// The socket's pending error (SO_ERROR, which also clears it) as a libuv status; 0 when none.
int pending_socket_error(uv_handle_t* handle);

class PipeOwner {
 public:
  enum class Side { Source, Destination };
  // A read, write or shutdown failed; `side` is the socket that failed.
  virtual void on_pipe_error(Pipe& pipe, int status, Side side) = 0;
  // src ended and dst's write side is shut down.
  virtual void on_pipe_done(Pipe& pipe) = 0;
  // Every write queued towards dst has completed (not called on the fast path, where
  // nothing is queued).
  virtual void on_pipe_flushed(Pipe& pipe) = 0;

 protected:
  ~PipeOwner() = default;
};

class Pipe {
 public:
  static constexpr size_t kHighWater = 256 * 1024;
  static constexpr size_t kLowWater = kHighWater / 2;
  static constexpr size_t kMaxBlocks = kHighWater / Block::kSize;  // pause at this many queued
  static constexpr size_t kResumeBlocks = kLowWater / Block::kSize;

  Pipe(PipeOwner& owner, BufferPool& pool) : owner_(owner), pool_(pool) {}
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;

  void attach(uv_stream_t* src, uv_stream_t* dst, uv_alloc_cb alloc, uv_read_cb read, uint64_t now_ms);
  // Bytes read before dst existed (held in a block taken from the pool): queued first.
  void inject(Block* block, size_t len);
  // Starts reading src (the source already ended: shut dst down instead).
  void start();
  void start_ended();
  // The owner's read callback for src forwards here (now_ms: its clock's time).
  void on_read(ssize_t nread, const uv_buf_t* buf, uint64_t now_ms);
  // No more reads, resumes or reports (the owner is closing both sockets).
  void stop();

  bool done() const { return done_; }
  bool paused() const { return paused_; }
  uint64_t bytes() const { return bytes_; }
  size_t queued_blocks() const { return queued_blocks_; }
  uint64_t last_activity() const { return last_activity_; }  // the owner's clock, at the last read
  // Counts every byte read from src (nullptr: not counted).
  void set_counter(metrics::Counter* c) { counter_ = c; }

 private:
  void queue(Block* block, size_t offset, size_t len);
  void source_ended();
  void resume();
  void fail(int status, PipeOwner::Side side);
  static void on_write(uv_write_t* req, int status);
  static void on_shutdown(uv_shutdown_t* req, int status);

  PipeOwner& owner_;
  BufferPool& pool_;
  uv_stream_t* src_ = nullptr;
  uv_stream_t* dst_ = nullptr;
  uv_alloc_cb alloc_ = nullptr;
  uv_read_cb read_ = nullptr;
  uv_shutdown_t shutdown_req_{};
  metrics::Counter* counter_ = nullptr;
  uint64_t bytes_ = 0;
  size_t queued_blocks_ = 0;  // blocks handed to uv_write, not yet called back
  uint64_t last_activity_ = 0;
  bool reading_ = false;
  bool paused_ = false;
  bool src_ended_ = false;
  bool done_ = false;
  bool stopped_ = false;
};

}  // namespace lg::proxy
