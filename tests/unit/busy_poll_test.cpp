// BusyPoll on a real loop: after a wake-up the loop keeps turning without blocking for the
// window (many loop turns where it would otherwise sleep once), then blocks again; idle it
// burns no CPU; it never keeps the loop alive, and closing it frees it (the sanitized suite
// checks the leak).
#include <sys/resource.h>
#include <uv.h>

#include <catch2/catch.hpp>
#include <chrono>

#include "core/busy_poll.hpp"
#include "core/clock.hpp"
#include "core/timer.hpp"

namespace {

using namespace std::chrono_literals;

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Counts loop turns (a prepare handle runs once per turn, just before the poll).
struct TurnCounter {
  explicit TurnCounter(uv_loop_t* loop) {
    uv_prepare_init(loop, &handle);
    handle.data = this;
    uv_prepare_start(&handle, [](uv_prepare_t* h) { ++static_cast<TurnCounter*>(h->data)->turns; });
    uv_unref(reinterpret_cast<uv_handle_t*>(&handle));
  }
  void close() { uv_close(reinterpret_cast<uv_handle_t*>(&handle), nullptr); }
  uv_prepare_t handle{};
  long turns = 0;
};

// Turns of the loop between a wake-up at 10 ms (a timer: the poll before it blocks, then returns)
// and a last timer at 60 ms, with an optional BusyPoll of `window`.
long turns_after_wake(std::chrono::microseconds window, uint64_t* windows) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  TurnCounter counter(&loop);
  lg::BusyPoll* busy = window.count() > 0 ? lg::BusyPoll::start(&loop, window) : nullptr;
  long at_wake = 0;
  auto* wake = lg::Timer::create(&loop, [&] { at_wake = counter.turns; });
  auto* last = lg::Timer::create(&loop, [] {});
  wake->start(10ms);
  last->start(60ms);
  uv_run(&loop, UV_RUN_DEFAULT);  // both timers fired: nothing else keeps the loop alive
  const long turns = counter.turns - at_wake;
  if (windows) *windows = busy ? busy->windows() : 0;
  wake->close();
  last->close();
  if (busy) busy->close();
  counter.close();
  uv_run(&loop, UV_RUN_DEFAULT);
  REQUIRE(uv_loop_close(&loop) == 0);
  return turns;
}

}  // namespace

TEST_CASE("busy poll: the loop keeps turning for the window after a wake-up, then blocks", "[busy_poll]") {
  // Without it: after the wake-up, one turn blocks until the last timer.
  const long plain = turns_after_wake(0us, nullptr);
  CHECK(plain <= 3);
  // With a 20 ms window: zero-timeout polls for 20 ms after the wake-up, then a blocking poll
  // until the last timer (30 ms later).
  uint64_t windows = 0;
  const double t0 = lg::mono_seconds();
  const long busy = turns_after_wake(20000us, &windows);
  const double took = lg::mono_seconds() - t0;
  INFO("turns after the wake-up: " << busy << ", windows: " << windows);
  CHECK(busy > 100);
  CHECK(windows >= 1);
  CHECK(windows <= 4);  // one per wake-up from a blocking poll, not one per turn
  CHECK(took >= 0.055);  // the window never makes a timer fire early
}

TEST_CASE("busy poll: idle, it costs no CPU and does not keep the loop alive", "[busy_poll]") {
  uv_loop_t loop;
  uv_loop_init(&loop);
  auto* busy = lg::BusyPoll::start(&loop, 1000us);
  // Alone, it lets uv_run return at once.
  const double t0 = lg::mono_seconds();
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(lg::mono_seconds() - t0 < 0.05);

  // Idle for 500 ms with one wake-up in the middle: at most two 1 ms windows of spinning.
  auto* wake = lg::Timer::create(&loop, [] {});
  auto* end = lg::Timer::create(&loop, [] {});
  wake->start(200ms);
  end->start(500ms);
  const double cpu0 = cpu_seconds();
  uv_run(&loop, UV_RUN_DEFAULT);
  const double cpu = cpu_seconds() - cpu0;
  INFO("CPU while idle: " << cpu * 1000 << " ms");
  CHECK(cpu < 0.05);  // a spinning loop would take about 500 ms
  wake->close();
  end->close();
  busy->close();
  uv_run(&loop, UV_RUN_DEFAULT);
  REQUIRE(uv_loop_close(&loop) == 0);
}
