#pragma once
// BufferPool: the 64 KiB blocks proxied bytes travel in, after pgbouncer's sbuf. Every read of
// every session lands in one shared scratch block (reads run one at a time on the loop); when
// uv_try_write hands all of it to the kernel, the scratch block is simply reused by the next
// read, so the steady state allocates nothing. Only bytes the kernel did not take stay in a
// block: the pipe takes the scratch block over (take_scratch) and queues it with uv_write, the
// uv_write_t inside the block, and gives it back in the write callback. Given-back blocks are
// kept on a free list (up to keep_free) for the next one.
//
// Ownership: the Forwarder and every session hold a shared_ptr, because sessions finish their
// close callbacks (which give blocks back) after the Forwarder may be gone.
#include <uv.h>

#include <cstddef>
#include <vector>

namespace lg::proxy {

struct Block {
  static constexpr size_t kSize = 64 * 1024;
  uv_write_t req{};     // req.data = this block
  void* owner = nullptr;  // the pipe whose write this is
  char data[kSize];
};

class BufferPool {
 public:
  explicit BufferPool(size_t keep_free = 64) : keep_free_(keep_free) {}
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // The block the next read lands in (allocated once, then reused).
  Block* scratch() {
    if (!scratch_) scratch_ = fresh();
    return scratch_;
  }
  // The caller keeps the scratch block (its bytes are queued); it must give() it back.
  Block* take_scratch() {
    Block* b = scratch();
    scratch_ = nullptr;
    ++out_;
    return b;
  }
  void give(Block* b);

  // Bytes held in blocks that are out (queued writes, data held before connect).
  size_t buffered_bytes() const { return out_ * Block::kSize; }
  size_t blocks_out() const { return out_; }

 private:
  Block* fresh();

  Block* scratch_ = nullptr;
  std::vector<Block*> free_;
  size_t keep_free_;
  size_t out_ = 0;
};

}  // namespace lg::proxy
