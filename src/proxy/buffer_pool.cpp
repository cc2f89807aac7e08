#include "proxy/buffer_pool.hpp"

namespace lg::proxy {

BufferPool::~BufferPool() {
  delete scratch_;
  for (Block* b : free_) delete b;
}

Block* BufferPool::fresh() {
  if (free_.empty()) return new Block;
  Block* b = free_.back();
  free_.pop_back();
  return b;
}

void BufferPool::give(Block* b) {
  --out_;
  if (free_.size() < keep_free_) {
    free_.push_back(b);
  } else {
    delete b;
  }
}

}  // namespace lg::proxy
