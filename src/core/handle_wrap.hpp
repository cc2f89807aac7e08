#pragma once
// HandleWrap<Self, H, Callback>: one libuv handle owned on its own, after Node's HandleWrap.
// The base of Timer, Defer, Signal, EveryTurn and the Redis adapter's PollEvents. The rules, once:
//   - create() allocates it; whoever created it keeps the pointer and calls close() when done.
//     After close() the pointer must not be used.
//   - close() is idempotent and safe from inside the callback. Nothing fires after it, and the
//     object (with the callback) is freed in the handle's close callback, never earlier: a
//     callback already queued for this loop turn, or still running, finds valid memory.
//   - Its owner may therefore go away right after close(), even with the handle still closing.
// Objects that own several handles, or handles and requests, embed Handle<H> members counted by
// a HandleGroup instead (core/handle.hpp).
#include <uv.h>

#include <utility>

namespace lg::core {

template <class Self, class H, class Callback>
class HandleWrap {
 public:
  HandleWrap(const HandleWrap&) = delete;
  HandleWrap& operator=(const HandleWrap&) = delete;

  void close() {
    if (closing_) return;
    closing_ = true;
    uv_close(handle(), [](uv_handle_t* h) { delete static_cast<Self*>(h->data); });
  }
  // Keeps the loop from staying alive for this handle alone.
  void unref() { uv_unref(handle()); }

 protected:
  explicit HandleWrap(Callback cb) : cb_(std::move(cb)) {}
  ~HandleWrap() = default;

  uv_handle_t* handle() { return reinterpret_cast<uv_handle_t*>(&handle_); }
  // Runs the callback unless closed. A callback that closes the object runs on safely: the
  // object and the callback are freed in the close callback, not before.
  template <class... Args>
  void fire(Args... args) {
    if (closing_ || !cb_) return;
    cb_(args...);
  }

  H handle_{};  // data: the Self object
  Callback cb_;
  bool closing_ = false;
};

}  // namespace lg::core
