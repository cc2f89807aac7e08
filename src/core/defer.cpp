#include "core/defer.hpp"

namespace lg::core {

Defer* Defer::create(uv_loop_t* loop, Callback cb) {
  auto* d = new Defer(std::move(cb));
  uv_idle_init(loop, &d->handle_);
  d->handle_.data = d;
  return d;
}

void Defer::schedule() {
  if (closing_ || scheduled()) return;
  uv_idle_start(&handle_, [](uv_idle_t* h) {
    uv_idle_stop(h);
    static_cast<Defer*>(h->data)->fire();
  });
}

void Defer::cancel() {
  if (!closing_) uv_idle_stop(&handle_);
}

bool Defer::scheduled() const {
  return !closing_ && uv_is_active(reinterpret_cast<const uv_handle_t*>(&handle_));
}

Defer* Defer::once(uv_loop_t* loop, Callback cb) {
  Defer* d = create(loop, nullptr);
  d->cb_ = [d, cb = std::move(cb)] {
    d->close();
    cb();  // this lambda lives on until the close callback frees the Defer
  };
  d->schedule();
  return d;
}

}  // namespace lg::core
