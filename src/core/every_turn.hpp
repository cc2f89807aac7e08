#pragma once
// EveryTurn: a callback run once per turn of the loop, just before it polls (a uv_prepare_t),
// while started, for work counted per turn (the health server ages its connections and renews
// its answers' share). Its owner starts it when there is such work and stops it when there is
// none: a started one costs every turn of the loop, the proxy's too. It never keeps the loop
// alive by itself (unref'd) and never makes it poll without blocking. A HandleWrap (see
// handle_wrap.hpp: create(), close() once done, freed in the close callback).
#include <uv.h>

#include <functional>

#include "core/handle_wrap.hpp"

namespace lg::core {

class EveryTurn : public HandleWrap<EveryTurn, uv_prepare_t, std::function<void()>> {
 public:
  using Callback = std::function<void()>;

  // Stopped until start().
  static EveryTurn* create(uv_loop_t* loop, Callback cb);
  // Runs the callback from the next turn on; nothing when started already.
  void start();
  // No more callbacks until start(); nothing when stopped already. Safe from the callback.
  void stop();

 private:
  friend class HandleWrap<EveryTurn, uv_prepare_t, Callback>;
  explicit EveryTurn(Callback cb) : HandleWrap(std::move(cb)) {}
  ~EveryTurn() = default;
};

}  // namespace lg::core
