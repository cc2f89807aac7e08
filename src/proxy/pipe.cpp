#include "proxy/pipe.hpp"

#include <sys/socket.h>

namespace lg::proxy {

int pending_socket_error(uv_handle_t* handle) {
  uv_os_fd_t fd;
  int err = 0;
  socklen_t len = sizeof err;
  if (uv_fileno(handle, &fd) != 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return 0;
  return -err;
}

void Pipe::attach(uv_stream_t* src, uv_stream_t* dst, uv_alloc_cb alloc, uv_read_cb read, uint64_t now_ms) {
  src_ = src;
  dst_ = dst;
  alloc_ = alloc;
  read_ = read;
  last_activity_ = now_ms;
}

void Pipe::inject(Block* block, size_t len) { queue(block, 0, len); }

void Pipe::start() {
  if (stopped_ || src_ended_) return;
  if (queued_blocks_ >= kMaxBlocks) {
    paused_ = true;  // the injected bytes must drain first; on_write resumes
    return;
  }
  resume();
}

void Pipe::start_ended() {
  if (stopped_ || src_ended_) return;
  source_ended();
}

void Pipe::resume() {
  paused_ = false;
  if (reading_ || stopped_ || src_ended_) return;
  int rc = uv_read_start(src_, alloc_, read_);
  if (rc != 0) {
    fail(rc, PipeOwner::Side::Source);
    return;
  }
  reading_ = true;
}

void Pipe::on_read(ssize_t nread, const uv_buf_t* buf, uint64_t now_ms) {
  if (nread > 0) {
    const auto n = static_cast<size_t>(nread);
    bytes_ += n;
    last_activity_ = now_ms;
    if (counter_) counter_->inc(static_cast<double>(n));
    uv_buf_t out = uv_buf_init(buf->base, static_cast<unsigned int>(n));
    int written = uv_try_write(dst_, &out, 1);
    if (written == nread) return;  // the fast path: the scratch block is free again
    if (written < 0 && written != UV_EAGAIN) {
      fail(written, PipeOwner::Side::Destination);
      return;
    }
    const size_t sent = written > 0 ? static_cast<size_t>(written) : 0;
    // buf->base is the scratch block's data: keep that block for the queued write.
    Block* block = pool_.take_scratch();
    queue(block, sent, n - sent);
    if (!stopped_ && queued_blocks_ >= kMaxBlocks) {
      uv_read_stop(src_);
      reading_ = false;
      paused_ = true;
    }
    return;
  }
  if (nread == 0) return;  // EAGAIN: nothing read
  reading_ = false;
  if (nread == UV_EOF) {
    // A reset behind libuv's POLLHUP shortcut (see the header): pass it on as a reset.
    const int err = pending_socket_error(reinterpret_cast<uv_handle_t*>(src_));
    if (err != 0) fail(err, PipeOwner::Side::Source);
    else source_ended();
  } else {
    fail(static_cast<int>(nread), PipeOwner::Side::Source);
  }
}

void Pipe::queue(Block* block, size_t offset, size_t len) {
  block->req.data = block;
  block->owner = this;
  uv_buf_t b = uv_buf_init(block->data + offset, static_cast<unsigned int>(len));
  ++queued_blocks_;
  int rc = uv_write(&block->req, dst_, &b, 1, on_write);
  if (rc != 0) {  // failed at once: no callback will come
    --queued_blocks_;
    pool_.give(block);
    fail(rc, PipeOwner::Side::Destination);
  }
}

void Pipe::on_write(uv_write_t* req, int status) {
  auto* block = static_cast<Block*>(req->data);
  auto* self = static_cast<Pipe*>(block->owner);
  self->pool_.give(block);
  --self->queued_blocks_;
  if (self->stopped_ || status == UV_ECANCELED) return;
  if (status < 0) {
    self->fail(status, PipeOwner::Side::Destination);
    return;
  }
  if (self->paused_ && self->queued_blocks_ <= kResumeBlocks) self->resume();
  if (self->queued_blocks_ == 0 && !self->stopped_) self->owner_.on_pipe_flushed(*self);
}

void Pipe::source_ended() {
  src_ended_ = true;
  paused_ = false;
  if (reading_) uv_read_stop(src_);
  reading_ = false;
  shutdown_req_.data = this;
  int rc = uv_shutdown(&shutdown_req_, dst_, on_shutdown);
  if (rc != 0) fail(rc, PipeOwner::Side::Destination);
}

void Pipe::on_shutdown(uv_shutdown_t* req, int status) {
  auto* self = static_cast<Pipe*>(req->data);
  if (self->stopped_ || status == UV_ECANCELED) return;
  if (status < 0) {
    self->fail(status, PipeOwner::Side::Destination);
    return;
  }
  self->done_ = true;
  self->owner_.on_pipe_done(*self);
}

void Pipe::fail(int status, PipeOwner::Side side) {
  if (stopped_) return;
  stop();
  owner_.on_pipe_error(*this, status, side);
}

void Pipe::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (reading_ && src_) uv_read_stop(src_);
  reading_ = false;
}

}  // namespace lg::proxy
