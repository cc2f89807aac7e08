// Deadline on a clock the test moves by hand (ManualClock): it fires exactly when due, moving it
// later re-arms nothing until the timer comes due (then once for what is left), moving it earlier
// re-arms at once, and after clear(), close() or the destructor nothing fires. No loop, no sleep.
#include <catch2/catch.hpp>

#include "core/deadline.hpp"
#include "core/manual_clock.hpp"

namespace {

using namespace std::chrono_literals;
using TestDeadline = lg::core::BasicDeadline<lg::core::ManualClock>;

}  // namespace

TEST_CASE("deadline: fires exactly when due, once", "[unit][deadline]") {
  lg::core::ManualTime time;
  int fired = 0;
  TestDeadline d(lg::core::ManualClock(time), [&] { ++fired; });
  d.set(100ms);
  time.advance(99ms);
  CHECK(fired == 0);
  time.advance(1ms);
  CHECK(fired == 1);
  time.advance(1000ms);
  CHECK(fired == 1);
}

TEST_CASE("deadline: moving it later costs no timer start until the timer comes due", "[unit][deadline]") {
  lg::core::ManualTime time;
  int fired = 0;
  uint64_t fired_at = 0;
  TestDeadline d(lg::core::ManualClock(time), [&] {
    ++fired;
    fired_at = time.now_ms();
  });
  const uint64_t t0 = time.now_ms();
  d.set(100ms);
  const uint64_t starts = time.starts();
  // A busy keep-alive connection: the deadline moves on every request, every 10 ms.
  for (int i = 0; i < 30; ++i) {
    time.advance(10ms);
    d.set(100ms);
  }
  CHECK(fired == 0);
  // 300 ms of requests, 30 moves: the timer came due at 100 and 200 ms and re-armed each time.
  CHECK(time.starts() - starts == 3);
  time.advance(99ms);
  CHECK(fired == 0);
  time.advance(1ms);
  CHECK(fired == 1);
  CHECK(fired_at - t0 == 400);  // 100 ms after the last move
}

TEST_CASE("deadline: moving it earlier re-arms at once", "[unit][deadline]") {
  lg::core::ManualTime time;
  int fired = 0;
  TestDeadline d(lg::core::ManualClock(time), [&] { ++fired; });
  d.set(5000ms);
  d.set(20ms);
  time.advance(20ms);
  CHECK(fired == 1);
  time.advance(10000ms);
  CHECK(fired == 1);
}

TEST_CASE("deadline: nothing fires after clear(), close() or the destructor", "[unit][deadline]") {
  lg::core::ManualTime time;
  int fired = 0;
  SECTION("clear") {
    TestDeadline d(lg::core::ManualClock(time), [&] { ++fired; });
    d.set(50ms);
    d.clear();
    time.advance(200ms);
    CHECK(fired == 0);
    d.set(50ms);  // usable again
    time.advance(50ms);
    CHECK(fired == 1);
  }
  SECTION("close") {
    TestDeadline d(lg::core::ManualClock(time), [&] { ++fired; });
    d.set(50ms);
    d.close();
    d.set(10ms);  // ignored once closed
    time.advance(200ms);
    CHECK(fired == 0);
    CHECK(time.armed() == 0);
  }
  SECTION("destructor") {
    {
      TestDeadline d(lg::core::ManualClock(time), [&] { ++fired; });
      d.set(50ms);
    }
    CHECK(time.armed() == 0);
    time.advance(200ms);
    CHECK(fired == 0);
  }
}

TEST_CASE("deadline: the expiry may close the deadline from inside", "[unit][deadline]") {
  lg::core::ManualTime time;
  int fired = 0;
  TestDeadline* self = nullptr;
  TestDeadline d(lg::core::ManualClock(time), [&] {
    ++fired;
    self->close();  // as an HTTP connection that closes on its deadline
  });
  self = &d;
  d.set(30ms);
  time.advance(30ms);
  CHECK(fired == 1);
  d.set(30ms);
  CHECK(time.armed() == 0);
  time.advance(100ms);
  CHECK(fired == 1);
}
