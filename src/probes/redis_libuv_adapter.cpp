// hiredis <-> libuv glue, after hiredis's adapters/libuv.h (hiredis 0.14.1, BSD-3-Clause,
// Copyright the hiredis authors), with one fix and the kit's ownership.
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
// Ownership. One PollEvents per context, a HandleWrap (core/handle_wrap.hpp) created by
// attach() and stored in ac->ev.data. hiredis calls cleanup() exactly once, while it frees the
// context; cleanup() closes the PollEvents, which drops the callback (and with it the context)
// at once and frees the object in the close callback: a poll callback already queued for this
// loop turn still finds valid memory and runs nothing.
#include "probes/redis_libuv_adapter.hpp"

#include <functional>

#include "core/handle_wrap.hpp"

namespace lg::probes::redis_uv {
namespace {

// Calls hiredis's read or write path for one readiness event (UV_READABLE or UV_WRITABLE).
using Dispatch = std::function<void(int event)>;

class PollEvents : public core::HandleWrap<PollEvents, uv_poll_t, Dispatch> {
 public:
  // Polling `fd` for nothing yet; nullptr when libuv refuses the fd.
  static PollEvents* create(uv_loop_t* loop, int fd, Dispatch dispatch) {
    auto* p = new PollEvents(std::move(dispatch));
    if (uv_poll_init(loop, &p->handle_, fd) != 0) {
      delete p;  // never initialised: nothing to close
      return nullptr;
    }
    p->handle_.data = p;
    return p;
  }

  void add(int event) { update(events_ | event); }
  void remove(int event) { update(events_ & ~event); }

 private:
  friend class HandleWrap<PollEvents, uv_poll_t, Dispatch>;
  explicit PollEvents(Dispatch dispatch) : HandleWrap(std::move(dispatch)) {}
  ~PollEvents() = default;

  void update(int events) {
    if (closing_) return;  // hiredis is freeing the context: the handle must not be restarted
    events_ = events;
    if (events_ != 0) {
      uv_poll_start(&handle_, events_, on_poll);
    } else {
      uv_poll_stop(&handle_);
    }
  }

  static void on_poll(uv_poll_t* handle, int status, int events) {
    auto* p = static_cast<PollEvents*>(handle->data);
    // On an error status libuv passes no events: hand hiredis the ones it asked for, so it
    // reads the socket error itself (see the top of this file).
    const int ready = status < 0 ? p->events_ : events;
    // Reading may free the context (cleanup() closes us): fire() then runs nothing more.
    if (ready & UV_READABLE) p->fire(UV_READABLE);
    if (ready & UV_WRITABLE) p->fire(UV_WRITABLE);
  }

  int events_ = 0;  // UV_READABLE | UV_WRITABLE as hiredis asked for them
};

PollEvents* events_of(void* privdata) { return static_cast<PollEvents*>(privdata); }

void add_read(void* privdata) { events_of(privdata)->add(UV_READABLE); }
void del_read(void* privdata) { events_of(privdata)->remove(UV_READABLE); }
void add_write(void* privdata) { events_of(privdata)->add(UV_WRITABLE); }
void del_write(void* privdata) { events_of(privdata)->remove(UV_WRITABLE); }

// hiredis calls this while freeing the context, before it closes the socket: uv_close stops
// polling (removes the fd from epoll) now, so closing the fd afterwards is safe.
void cleanup(void* privdata) { events_of(privdata)->close(); }

}  // namespace

int attach(redisAsyncContext* ac, uv_loop_t* loop) {
  if (ac->ev.data != nullptr) return REDIS_ERR;
  auto* p = PollEvents::create(loop, ac->c.fd, [ac](int event) {
    if (event == UV_READABLE) {
      redisAsyncHandleRead(ac);
    } else {
      redisAsyncHandleWrite(ac);
    }
  });
  if (p == nullptr) return REDIS_ERR;
  ac->ev.addRead = add_read;
  ac->ev.delRead = del_read;
  ac->ev.addWrite = add_write;
  ac->ev.delWrite = del_write;
  ac->ev.cleanup = cleanup;
  ac->ev.data = p;
  return REDIS_OK;
}

}  // namespace lg::probes::redis_uv
