#pragma once
// Defer: runs a callback on a later turn of the loop, never inside the caller: how work that
// must not happen inside a start() (a probe attempt's first step, an answer known at once) or
// inside the callback that found it due (a paused HTTP connection parsing on) gets done.
// A HandleWrap (see handle_wrap.hpp: create(), close() once done, freed in the close callback).
//
// One uv_idle_t: while one is scheduled the loop polls without blocking, and the callback runs
// in the idle phase of this turn when scheduled from a timer callback, else of the next turn
// (after the loop has polled). A callback that schedules again runs on the following turn, not
// in the same pass (libuv 1.44 runs a 0 ms timer started inside a timer callback in the same
// pass, which is why this is not a timer).
#include <uv.h>

#include <functional>

#include "core/handle_wrap.hpp"

namespace lg::core {

class Defer : public HandleWrap<Defer, uv_idle_t, std::function<void()>> {
 public:
  using Callback = std::function<void()>;

  // Created idle: nothing runs until schedule().
  static Defer* create(uv_loop_t* loop, Callback cb);
  // The common case: runs `cb` once, on a later turn, and closes itself first. The owner keeps
  // the pointer only to close() it before it ran (then `cb` never runs): `cb` should drop it.
  static Defer* once(uv_loop_t* loop, Callback cb);
  // Runs the callback once, on a later turn; scheduling again before it ran changes nothing.
  void schedule();
  void cancel();
  bool scheduled() const;

 private:
  friend class HandleWrap<Defer, uv_idle_t, Callback>;
  explicit Defer(Callback cb) : HandleWrap(std::move(cb)) {}
  ~Defer() = default;
};

}  // namespace lg::core
