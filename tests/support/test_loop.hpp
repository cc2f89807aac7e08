#pragma once
// The one way C++ tests run a uv loop of their own, in two shapes:
//   TestLoop    a private loop the test thread drives (probes, checks, the resolver);
//   LoopThread  a loop on a thread of its own, for code under test that must keep answering
//               while the test blocks on plain sockets (the forwarder).
// Both end the same way: every handle the code under test opened must be closed within a bound,
// and the test fails loudly, naming the handles still open, when one is not (a leak the
// sanitizers would not see: a handle is not freed memory).
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace lgtest {

using std::chrono::milliseconds;

// The handles still open on `loop` (not closing), by type, e.g. "tcp timer"; empty when none.
// `except` is left out (the harness's own handle).
std::string open_handles(uv_loop_t* loop, const uv_handle_t* except = nullptr);
// True when the TCP sockets on `loop` received at least `bytes` together (TCP_INFO) and the
// code under test has read all of it (FIONREAD 0 on each): the event "it read what was sent",
// where a fixed sleep would only hope so.
bool sockets_read(uv_loop_t* loop, uint64_t bytes);
// Closes every handle on `loop` that is not closing yet (the ones a failed test leaked).
void close_all_handles(uv_loop_t* loop);

class TestLoop {
 public:
  TestLoop();
  ~TestLoop();  // close() unless called: a loop left with handles fails the test
  TestLoop(const TestLoop&) = delete;
  TestLoop& operator=(const TestLoop&) = delete;

  uv_loop_t* get() { return &loop_; }
  // Runs the loop until `done()` or `bound` passes; returns done(). done() is looked at after
  // every loop turn, and a turn runs as soon as the loop has an event (at least every 10 ms).
  bool run_until(const std::function<bool()>& done, milliseconds bound);
  // Runs the loop for `span` (for code that must be given time to act, not for asserting).
  void run_for(milliseconds span) { run_until([] { return false; }, span); }
  // Runs the loop until no handle or request is left (bound: 5 s) and closes it; true when
  // uv_loop_close succeeded. Otherwise the test FAILS with the handles left.
  bool close();

 private:
  void turn_and_wait();
  uv_loop_t loop_{};
  bool closed_ = false;
};

class LoopThread {
 public:
  LoopThread();
  ~LoopThread();  // stop() unless called
  LoopThread(const LoopThread&) = delete;
  LoopThread& operator=(const LoopThread&) = delete;

  uv_loop_t* get() { return &loop_; }
  // Runs fn on the loop thread and waits for it; the test FAILS when it has not run within
  // `bound` (the loop is stuck).
  void call(const std::function<void()>& fn, milliseconds bound = milliseconds(10000));
  // Waits (bound: 5 s) until every handle but the harness's own is closed, then stops the loop
  // and joins the thread. Handles still open then FAIL the test, named, and are closed by force
  // so the thread always ends. Call it after the code under test was told to close.
  void stop();

 private:
  bool try_call(const std::function<void()>& fn, milliseconds bound);
  static void on_async(uv_async_t* a);
  uv_loop_t loop_{};
  uv_async_t async_{};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::function<void()>> queue_;
  bool stopped_ = false;
};

}  // namespace lgtest
