#include "core/every_turn.hpp"

namespace lg::core {

EveryTurn* EveryTurn::create(uv_loop_t* loop, Callback cb) {
  auto* t = new EveryTurn(std::move(cb));
  uv_prepare_init(loop, &t->handle_);
  t->handle_.data = t;
  t->unref();
  return t;
}

void EveryTurn::start() {
  if (closing_) return;
  uv_prepare_start(&handle_, [](uv_prepare_t* p) { static_cast<EveryTurn*>(p->data)->fire(); });
}

void EveryTurn::stop() { uv_prepare_stop(&handle_); }

}  // namespace lg::core
