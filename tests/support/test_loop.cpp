#include "support/test_loop.hpp"

#include <poll.h>
#include <sys/ioctl.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>

#include "support/tcp_received.hpp"

namespace lgtest {

std::string open_handles(uv_loop_t* loop, const uv_handle_t* except) {
  struct Walk {
    const uv_handle_t* except;
    std::string names;
  } walk{except, {}};
  uv_walk(
      loop,
      [](uv_handle_t* h, void* arg) {
        auto* w = static_cast<Walk*>(arg);
        if (h == w->except || uv_is_closing(h)) return;
        if (!w->names.empty()) w->names += ' ';
        w->names += uv_handle_type_name(uv_handle_get_type(h));
      },
      &walk);
  return walk.names;
}

bool sockets_read(uv_loop_t* loop, uint64_t bytes) {
  struct Sum {
    uint64_t received = 0;
    bool unread = false;
  } sum;
  uv_walk(
      loop,
      [](uv_handle_t* h, void* arg) {
        auto* s = static_cast<Sum*>(arg);
        uv_os_fd_t fd;
        if (uv_handle_get_type(h) != UV_TCP || uv_is_closing(h) || uv_fileno(h, &fd) != 0) return;
        s->received += tcp_bytes_received(fd);
        int waiting = 0;
        if (ioctl(fd, FIONREAD, &waiting) == 0 && waiting > 0) s->unread = true;
      },
      &sum);
  return sum.received >= bytes && !sum.unread;
}

void close_all_handles(uv_loop_t* loop) {
  uv_walk(
      loop,
      [](uv_handle_t* h, void*) {
        if (!uv_is_closing(h)) uv_close(h, nullptr);
      },
      nullptr);
}

// ---- TestLoop -------------------------------------------------------------------------------

TestLoop::TestLoop() { uv_loop_init(&loop_); }

TestLoop::~TestLoop() {
  if (!closed_) CHECK(close());
}

// Whole turns without waiting (UV_RUN_NOWAIT: every phase of a turn runs, as in production),
// and between turns a wait on the loop's own backend for its next event or timer, at most 10 ms.
void TestLoop::turn_and_wait() {
  uv_run(&loop_, UV_RUN_NOWAIT);
  int timeout = uv_backend_timeout(&loop_);
  if (timeout < 0 || timeout > 10) timeout = 10;
  if (timeout == 0) return;
  pollfd p{uv_backend_fd(&loop_), POLLIN, 0};
  poll(&p, 1, timeout);
}

bool TestLoop::run_until(const std::function<bool()>& done, milliseconds bound) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!done() && std::chrono::steady_clock::now() < deadline) turn_and_wait();
  return done();
}

bool TestLoop::close() {
  closed_ = true;
  run_until([this] { return !uv_loop_alive(&loop_); }, milliseconds(5000));
  const std::string left = open_handles(&loop_);
  INFO("handles still open on the test's loop after 5 s: " << left);
  CHECK(left.empty());
  close_all_handles(&loop_);  // the leaked ones too, so the loop can be closed
  uv_run(&loop_, UV_RUN_NOWAIT);  // their close callbacks
  return left.empty() && uv_loop_close(&loop_) == 0;
}

// ---- LoopThread -----------------------------------------------------------------------------

LoopThread::LoopThread() {
  uv_loop_init(&loop_);
  uv_async_init(&loop_, &async_, on_async);
  async_.data = this;
  thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
}

LoopThread::~LoopThread() {
  if (!stopped_) stop();
}

void LoopThread::on_async(uv_async_t* a) {
  auto* self = static_cast<LoopThread*>(a->data);
  std::vector<std::function<void()>> work;
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    work.swap(self->queue_);
  }
  for (auto& fn : work) fn();
}

void LoopThread::call(const std::function<void()>& fn, milliseconds bound) {
  const bool ran = try_call(fn, bound);
  INFO("the loop thread did not run the call within " << bound.count() << " ms");
  REQUIRE(ran);
}

bool LoopThread::try_call(const std::function<void()>& fn, milliseconds bound) {
  // Shared with the queued work: a call that times out must not leave it a dangling promise.
  auto done = std::make_shared<std::promise<void>>();
  auto f = done->get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back([fn, done] {
      fn();
      done->set_value();
    });
  }
  uv_async_send(&async_);
  return f.wait_for(bound) == std::future_status::ready;
}

void LoopThread::stop() {
  stopped_ = true;
  auto* own = reinterpret_cast<uv_handle_t*>(&async_);
  std::string left;
  bool answered = true;
  const auto deadline = std::chrono::steady_clock::now() + milliseconds(5000);
  do {
    answered = try_call([&] { left = open_handles(&loop_, own); }, milliseconds(5000));
    if (!answered || left.empty()) break;
    std::this_thread::sleep_for(milliseconds(5));  // polled: closing is the loop's own business
  } while (std::chrono::steady_clock::now() < deadline);
  // What is still open is closed by force (its owner leaks it: the test fails anyway), so
  // uv_run returns and the thread joins.
  if (answered) answered = try_call([&] { close_all_handles(&loop_); }, milliseconds(5000));
  if (!answered) {
    // The loop thread is stuck in a callback: it can neither be joined nor left running on
    // memory about to be freed.
    std::fprintf(stderr, "lgtest::LoopThread: the loop thread is stuck; aborting\n");
    std::abort();
  }
  thread_.join();
  INFO("handles still open on the loop thread after 5 s: " << left);
  CHECK(left.empty());
  CHECK(uv_loop_close(&loop_) == 0);
}

}  // namespace lgtest
