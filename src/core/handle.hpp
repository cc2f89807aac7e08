#pragma once
// Handle<H>: one libuv handle held inside an object whose HandleGroup frees it: a member, no
// allocation of its own. Its states, after Node's HandleWrap:
//
//   Unused --init()--> Open --close()--> Closing --close callback--> Unused (may be init()ed again)
//
// init() holds the group; the close callback releases it, after running the `then` given to
// close() (the owner's next step once the handle is really closed: try the next address, watch
// a new socket). close() is idempotent and safe from inside the handle's own callbacks: uv_close
// stops reads, polls and timers at once, and requests on the handle are called back with
// UV_ECANCELED before the close callback, so nothing runs on freed memory.
// The handle's data is the owner (for the owner's static callbacks), given to init().
#include <uv.h>

#include <cassert>
#include <type_traits>

#include "core/handle_group.hpp"

namespace lg::core {

template <class H>
class Handle {
 public:
  using Then = void (*)(void* arg);

  explicit Handle(HandleGroup& group) : group_(&group) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  // Runs init(loop, get(), args...) (uv_tcp_init, uv_poll_init, ...) and returns its result;
  // on 0 the handle is open, counted by the group, with `data` for its callbacks.
  template <class Init, class... Args>
  int init(void* data, Init init, uv_loop_t* loop, Args... args) {
    assert(state_ == State::Unused);
    const int rc = init(loop, &h_, args...);
    if (rc != 0) return rc;
    h_.data = data;
    state_ = State::Open;
    group_->hold();
    return 0;
  }

  H* get() { return &h_; }
  const H* get() const { return &h_; }
  uv_handle_t* handle() { return reinterpret_cast<uv_handle_t*>(&h_); }
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&h_); }
  bool open() const { return state_ == State::Open; }
  bool closing() const { return state_ == State::Closing; }

  // Closes an open handle (anything else: nothing happens); then(arg) runs in the close callback.
  void close(Then then = nullptr, void* arg = nullptr) {
    if (!begin_close(then, arg)) return;
    uv_close(handle(), on_close);
  }

  // A TCP handle closed with a reset (RST) instead of a FIN. libuv refuses while a shutdown is
  // pending: then an ordinary close.
  void close_reset(Then then = nullptr, void* arg = nullptr)
    requires std::is_same_v<H, uv_tcp_t>
  {
    if (!begin_close(then, arg)) return;
    if (uv_tcp_close_reset(&h_, on_close) != 0) uv_close(handle(), on_close);
  }

 private:
  enum class State : unsigned char { Unused, Open, Closing };

  bool begin_close(Then then, void* arg) {
    if (state_ != State::Open) return false;
    state_ = State::Closing;
    then_ = then;
    then_arg_ = arg;
    return true;
  }

  static void on_close(uv_handle_t* h) {
    static_assert(std::is_standard_layout_v<Handle>, "h_ must be the first member");
    auto* self = reinterpret_cast<Handle*>(h);
    self->state_ = State::Unused;
    if (Then then = self->then_) {
      self->then_ = nullptr;
      then(self->then_arg_);  // may init() this handle again
    }
    self->group_->release();  // may free the owner, and this handle with it
  }

  H h_{};  // first: the close callback finds the Handle from the uv handle
  HandleGroup* group_;
  Then then_ = nullptr;
  void* then_arg_ = nullptr;
  State state_ = State::Unused;
};

}  // namespace lg::core
