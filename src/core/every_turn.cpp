#include "core/every_turn.hpp"

namespace lg::core {

EveryTurn* EveryTurn::create(uv_loop_t* loop, Callback cb) {
  auto* t = new EveryTurn(std::move(cb));
  uv_prepare_init(loop, &t->handle_);
  t->handle_.data = t;
  uv_prepare_start(&t->handle_, [](uv_prepare_t* p) { static_cast<EveryTurn*>(p->data)->fire(); });
  t->unref();
  return t;
}

}  // namespace lg::core
