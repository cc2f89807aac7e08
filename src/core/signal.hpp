#pragma once
// Signal: one uv_signal_t watching one signal (SIGTERM, SIGINT) with a callback, a HandleWrap
// (see handle_wrap.hpp: create(), close() once done, freed in the close callback).
#include <uv.h>

#include <functional>

#include "core/handle_wrap.hpp"

namespace lg::core {

class Signal : public HandleWrap<Signal, uv_signal_t, std::function<void(int)>> {
 public:
  using Callback = std::function<void(int signum)>;

  // Watching from now on; the callback gets the signal's number.
  static Signal* create(uv_loop_t* loop, int signum, Callback cb);

 private:
  friend class HandleWrap<Signal, uv_signal_t, Callback>;
  explicit Signal(Callback cb) : HandleWrap(std::move(cb)) {}
  ~Signal() = default;
};

}  // namespace lg::core
