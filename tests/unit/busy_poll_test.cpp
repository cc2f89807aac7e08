// BusyPoll on a real loop: frequent wake-ups grow the window to its bound and the loop then keeps
// turning between them instead of blocking; a long silence closes it; sparse wake-ups never open
// one; idle it burns no CPU; it never keeps the loop alive, and closing it frees it (the
// sanitized suite checks the leak). The sizing rule itself is checked on its own first.
#include <sys/resource.h>
#include <uv.h>

#include <catch2/catch.hpp>
#include <chrono>

#include "core/busy_poll.hpp"
#include "core/clock.hpp"
#include "core/timer.hpp"

namespace {

using namespace std::chrono_literals;
using lg::BusyPoll;

constexpr uint64_t kUs = 1000;

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

// What a loop with a BusyPoll bounded by `max` did while a timer woke it `ticks` times every
// `every`, and then after `silence` without events.
struct Run {
  long turns_ticking = 0;      // loop turns while the timer ticked
  double cpu_ticking = 0;      // CPU seconds while the timer ticked
  uint64_t windows = 0;        // windows opened while it ticked
  std::chrono::nanoseconds window_after_ticks{};
  std::chrono::nanoseconds window_after_silence{};
};

Run run_ticks(std::chrono::microseconds max, std::chrono::milliseconds every, int ticks,
              std::chrono::milliseconds silence) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  TurnCounter counter(&loop);
  BusyPoll* busy = BusyPoll::start(&loop, max);
  Run run;
  int fired = 0;
  const double cpu0 = cpu_seconds();
  lg::Timer* after = lg::Timer::create(&loop, [&] { run.window_after_silence = busy->window(); });
  lg::Timer* tick = lg::Timer::create(&loop, [&] {
    if (++fired < ticks) return;
    tick->stop();
    run.turns_ticking = counter.turns;
    run.cpu_ticking = cpu_seconds() - cpu0;
    run.windows = busy->windows();
    run.window_after_ticks = busy->window();
    after->start(silence);
  });
  tick->start(every, every);
  uv_run(&loop, UV_RUN_DEFAULT);  // the timers are done: nothing else keeps the loop alive
  tick->close();
  after->close();
  busy->close();
  counter.close();
  uv_run(&loop, UV_RUN_DEFAULT);
  REQUIRE(uv_loop_close(&loop) == 0);
  return run;
}

}  // namespace

TEST_CASE("busy poll sizing: grows while the next event comes within the bound", "[busy_poll]") {
  const uint64_t max = 50 * kUs;
  CHECK(BusyPoll::next_window(0, 5 * kUs, max) == BusyPoll::kGrowStartNs);
  CHECK(BusyPoll::next_window(10 * kUs, 5 * kUs, max) == 20 * kUs);
  CHECK(BusyPoll::next_window(20 * kUs, 5 * kUs, max) == 40 * kUs);
  CHECK(BusyPoll::next_window(40 * kUs, 5 * kUs, max) == max);  // capped at the bound
  CHECK(BusyPoll::next_window(max, 5 * kUs, max) == max);
  // A bound below the first step: the window is the bound.
  CHECK(BusyPoll::next_window(0, 1 * kUs, 4 * kUs) == 4 * kUs);
}

TEST_CASE("busy poll sizing: keeps or closes by how long the loop slept", "[busy_poll]") {
  const uint64_t max = 50 * kUs;
  // Slept within the bound, but window + sleep beyond it: a longer window would not have helped.
  CHECK(BusyPoll::next_window(40 * kUs, 30 * kUs, max) == 40 * kUs);
  // Slept longer than the bound: closes.
  CHECK(BusyPoll::next_window(max, 51 * kUs, max) == 0);
  CHECK(BusyPoll::next_window(10 * kUs, 1000 * kUs, max) == 0);
  CHECK(BusyPoll::next_window(0, 1000 * kUs, max) == 0);
}

TEST_CASE("busy poll: steady wake-ups grow the window, the loop spins between them, silence closes it",
          "[busy_poll]") {
  // A timer every 1 ms, bound 5 ms: each wait is shorter than the bound, so the window grows
  // 10, 20, 40 ... us up to 5 ms within a dozen ticks; from then on the loop never blocks between
  // ticks (thousands of turns where it would block once per tick). 60 ms of silence closes it.
  const Run run = run_ticks(5000us, 1ms, 60, 60ms);
  INFO("turns " << run.turns_ticking << ", windows " << run.windows << ", CPU " << run.cpu_ticking);
  CHECK(run.window_after_ticks == 5ms);
  CHECK(run.windows >= 10);
  CHECK(run.turns_ticking > 1000);
  CHECK(run.window_after_silence == 0ns);
}

TEST_CASE("busy poll: wake-ups sparser than the bound never open a window", "[busy_poll]") {
  // A timer every 5 ms, bound 1 ms: every wait is longer than the bound.
  const Run run = run_ticks(1000us, 5ms, 20, 1ms);
  INFO("turns " << run.turns_ticking << ", windows " << run.windows << ", CPU " << run.cpu_ticking);
  CHECK(run.windows == 0);
  CHECK(run.window_after_ticks == 0ns);
  CHECK(run.turns_ticking < 200);  // a few turns per tick, not thousands
  CHECK(run.cpu_ticking < 0.02);   // 100 ms of ticks
}

TEST_CASE("busy poll: idle, it costs no CPU and does not keep the loop alive", "[busy_poll]") {
  uv_loop_t loop;
  uv_loop_init(&loop);
  auto* busy = BusyPoll::start(&loop, 10000us);
  // Alone, it lets uv_run return at once.
  const double t0 = lg::mono_seconds();
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(lg::mono_seconds() - t0 < 0.05);

  // Idle for 500 ms with one wake-up in the middle: at most a few short windows of spinning.
  auto* wake = lg::Timer::create(&loop, [] {});
  auto* end = lg::Timer::create(&loop, [] {});
  wake->start(200ms);
  end->start(500ms);
  const double cpu0 = cpu_seconds();
  uv_run(&loop, UV_RUN_DEFAULT);
  const double cpu = cpu_seconds() - cpu0;
  INFO("CPU while idle: " << cpu * 1000 << " ms");
  CHECK(cpu < 0.05);  // a spinning loop would take about 500 ms
  // Waits of 200 and 300 ms are beyond the bound: no window after them (the last poll, which
  // does not wait because nothing keeps the loop alive, may open one 10 us window).
  CHECK(busy->windows() <= 1);
  wake->close();
  end->close();
  busy->close();
  uv_run(&loop, UV_RUN_DEFAULT);
  REQUIRE(uv_loop_close(&loop) == 0);
}
