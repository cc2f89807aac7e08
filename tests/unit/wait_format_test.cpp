// The formatting behind `lettagate wait`'s table: cutting lines to the terminal width without
// breaking colours or UTF-8, neutralising control characters, latencies and verdicts.
#include <catch2/catch.hpp>

#include "app/wait_view.hpp"

using namespace lg::app::wait_format;
using lg::probes::HealthState;
using lg::probes::Status;

TEST_CASE("wait format: fit counts visible characters only", "[unit][wait]") {
  CHECK(fit("abcdef", 4) == "abcd");
  CHECK(fit("abc", 10) == "abc");
  // Colour sequences take no columns and are kept whole; a cut resets the colour.
  CHECK(fit("\x1b[32mup\x1b[0m rest", 4) == "\x1b[32mup\x1b[0m r\x1b[0m");
  CHECK(fit("\x1b[32mup\x1b[0m", 2) == "\x1b[32mup\x1b[0m");
  // UTF-8: one column a character, never half a character.
  CHECK(fit("h\xc3\xa9llo", 2) == "h\xc3\xa9");
}

TEST_CASE("wait format: printable removes control characters", "[unit][wait]") {
  CHECK(printable("a\nb\r\x1b[2Jc\t") == "a b  [2Jc ");
  CHECK(printable("plain") == "plain");
}

TEST_CASE("wait format: elapsed and latency", "[unit][wait]") {
  CHECK(elapsed(0.25) == "250ms");
  CHECK(elapsed(1.5) == "1.50s");
  CHECK(elapsed(12.34) == "12.3s");
  CHECK(elapsed(65) == "1m05s");
  lg::probes::Component c;
  CHECK(latency(c) == "-");
  c.last_check = 1;
  c.last_latency_s = 0.0004;
  CHECK(latency(c) == "0.4ms");
  c.last_latency_s = 0.123;
  CHECK(latency(c) == "123ms");
  c.last_latency_s = 2.5;
  CHECK(latency(c) == "2.50s");
}

TEST_CASE("wait format: verdicts name what blocks and what is degraded", "[unit][wait]") {
  HealthState h;
  auto& letta = h.add("letta", true, "GET http://letta/v1/health/");
  auto& redis = h.add("redis", false, "redis://redis:6379");
  letta.status = Status::Down;
  letta.reason = "connection refused";
  redis.status = Status::Down;
  lg::app::WaitOutcome o{false, false, 2.01};
  CHECK(verdict(h, o, lg::core::Millis{2000}) ==
        "not ready after 2.01s (timeout 2s): waiting for letta (down: connection refused)");
  CHECK(verdict(h, o, lg::core::Millis{2000}, false) == "not ready after 2.01s (timeout 2s): waiting for letta (down)");
  o.interrupted = true;
  CHECK(verdict(h, o, lg::core::Millis{2000}, false) == "not ready: interrupted after 2.01s: waiting for letta (down)");
  letta.status = Status::Up;
  o = lg::app::WaitOutcome{true, false, 0.3};
  CHECK(verdict(h, o, lg::core::Millis{2000}) == "ready after 300ms, degraded: redis down (optional)");
}
