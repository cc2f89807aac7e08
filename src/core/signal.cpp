#include "core/signal.hpp"

namespace lg::core {

Signal* Signal::create(uv_loop_t* loop, int signum, Callback cb) {
  auto* s = new Signal(std::move(cb));
  uv_signal_init(loop, &s->handle_);
  s->handle_.data = s;
  uv_signal_start(&s->handle_, [](uv_signal_t* h, int sig) { static_cast<Signal*>(h->data)->fire(sig); }, signum);
  return s;
}

}  // namespace lg::core
