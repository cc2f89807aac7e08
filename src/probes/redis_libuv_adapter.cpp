// hiredis <-> libuv glue, after hiredis's adapters/libuv.h (hiredis 0.14.1, BSD-3-Clause,
// Copyright the hiredis authors), with one fix and stricter ownership.
//
// The fix. When a non-blocking connect fails (the port is closed: RST), epoll reports the
// socket with EPOLLERR, and libuv's uv_poll stops the handle and calls back with status
// UV_EBADF and no events. hiredis 0.14.1's redisLibuvPoll returns early on any status != 0, so
// hiredis never looks at the socket: its connect callback never fires, nothing else is armed,
// the context (and its socket) leaks, and a loop with nothing else to do simply returns. Later
// hiredis releases (1.0+) dispatch the events that were armed when the status is an error, so
// that hiredis's own read/write path runs, finds the socket error (getsockopt SO_ERROR), calls
// the connect callback with REDIS_ERR and frees the context. We do the same.
//
// Ownership. One PollEvents per context, created by attach() and stored in ac->ev.data. hiredis
// calls cleanup() exactly once, while it frees the context; cleanup() forgets the context and
// closes the poll handle, and the PollEvents is deleted in the close callback only (a poll
// callback already queued for this loop turn still finds valid memory and a null context).
#include "probes/redis_libuv_adapter.hpp"

namespace lg::probes::redis_uv {
namespace {

struct PollEvents {
  redisAsyncContext* context = nullptr;  // null once hiredis has begun freeing the context
  uv_poll_t handle{};
  int events = 0;  // UV_READABLE | UV_WRITABLE as hiredis asked for them
};

void on_poll(uv_poll_t* handle, int status, int events) {
  auto* p = static_cast<PollEvents*>(handle->data);
  // On an error status libuv passes no events: hand hiredis the ones it asked for, so it
  // reads the socket error itself (see the top of this file).
  const int ready = status < 0 ? p->events : events;
  // Reading may free the context (cleanup() then nulls p->context), so check before writing.
  if (p->context != nullptr && (ready & UV_READABLE)) redisAsyncHandleRead(p->context);
  if (p->context != nullptr && (ready & UV_WRITABLE)) redisAsyncHandleWrite(p->context);
}

void update(PollEvents* p) {
  if (p->context == nullptr) return;  // closing: the handle must not be restarted
  if (p->events != 0) {
    uv_poll_start(&p->handle, p->events, on_poll);
  } else {
    uv_poll_stop(&p->handle);
  }
}

void add_read(void* privdata) {
  auto* p = static_cast<PollEvents*>(privdata);
  p->events |= UV_READABLE;
  update(p);
}

void del_read(void* privdata) {
  auto* p = static_cast<PollEvents*>(privdata);
  p->events &= ~UV_READABLE;
  update(p);
}

void add_write(void* privdata) {
  auto* p = static_cast<PollEvents*>(privdata);
  p->events |= UV_WRITABLE;
  update(p);
}

void del_write(void* privdata) {
  auto* p = static_cast<PollEvents*>(privdata);
  p->events &= ~UV_WRITABLE;
  update(p);
}

void on_close(uv_handle_t* handle) { delete static_cast<PollEvents*>(handle->data); }

// hiredis calls this while freeing the context, before it closes the socket: uv_close stops
// polling (removes the fd from epoll) now, so closing the fd afterwards is safe.
void cleanup(void* privdata) {
  auto* p = static_cast<PollEvents*>(privdata);
  p->context = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&p->handle), on_close);
}

}  // namespace

int attach(redisAsyncContext* ac, uv_loop_t* loop) {
  if (ac->ev.data != nullptr) return REDIS_ERR;
  auto* p = new PollEvents;
  if (uv_poll_init(loop, &p->handle, ac->c.fd) != 0) {
    delete p;  // never initialised: nothing to close
    return REDIS_ERR;
  }
  p->handle.data = p;
  p->context = ac;
  ac->ev.addRead = add_read;
  ac->ev.delRead = del_read;
  ac->ev.addWrite = add_write;
  ac->ev.delWrite = del_write;
  ac->ev.cleanup = cleanup;
  ac->ev.data = p;
  return REDIS_OK;
}

}  // namespace lg::probes::redis_uv
