// Socket-free parts of the forwarder: error classification, the block pool's accounting, and
// the backpressure marks.
#include <uv.h>

#include <catch2/catch.hpp>
#include <vector>

#include "proxy/buffer_pool.hpp"
#include "proxy/connect_backoff.hpp"
#include "proxy/pipe.hpp"
#include "proxy/proxy_metrics.hpp"

using namespace lg::proxy;

TEST_CASE("proxy: connect errors map to their metric reason", "[unit][proxy]") {
  CHECK(std::string(to_string(classify_connect_error(UV_ECONNREFUSED))) == "refused");
  CHECK(std::string(to_string(classify_connect_error(UV_ETIMEDOUT))) == "timeout");
  CHECK(std::string(to_string(classify_connect_error(UV_EHOSTUNREACH))) == "unreachable");
  CHECK(std::string(to_string(classify_connect_error(UV_ENETUNREACH))) == "unreachable");
  CHECK(std::string(to_string(classify_connect_error(UV_EAI_NONAME))) == "dns");
  CHECK(std::string(to_string(classify_connect_error(UV_EAI_AGAIN))) == "dns");
  CHECK(std::string(to_string(classify_connect_error(UV_EMFILE))) == "other");
  CHECK(std::string(to_string(RejectReason::HoldTimeout)) == "hold_timeout");
  CHECK(std::string(to_string(RejectReason::Unhealthy)) == "unhealthy");
  CHECK(std::string(to_string(RejectReason::Limit)) == "limit");
}

TEST_CASE("proxy: the block pool reuses the scratch block and counts blocks out", "[unit][proxy]") {
  BufferPool pool(2);
  Block* s = pool.scratch();
  CHECK(pool.scratch() == s);  // reads that are written at once reuse it
  CHECK(pool.buffered_bytes() == 0);
  Block* taken = pool.take_scratch();
  CHECK(taken == s);
  CHECK(pool.buffered_bytes() == Block::kSize);
  Block* next = pool.scratch();
  CHECK(next != s);
  Block* a = pool.take_scratch();
  Block* b = pool.take_scratch();
  Block* c = pool.take_scratch();
  CHECK(pool.blocks_out() == 4);
  for (Block* x : {taken, a, b, c}) pool.give(x);  // two are kept, two freed
  CHECK(pool.blocks_out() == 0);
  CHECK(pool.buffered_bytes() == 0);
}

TEST_CASE("proxy: backpressure marks", "[unit][proxy]") {
  STATIC_REQUIRE(Pipe::kHighWater == 256 * 1024);
  STATIC_REQUIRE(Pipe::kMaxBlocks == 4);
  STATIC_REQUIRE(Pipe::kResumeBlocks == 2);
  STATIC_REQUIRE(Block::kSize == 64 * 1024);
}

TEST_CASE("proxy: connect retries back off from 25 ms, doubling to 500 ms, jittered in the upper half",
          "[unit][proxy]") {
  const std::vector<uint64_t> full = {25, 50, 100, 200, 400, 500, 500, 500};
  for (unsigned i = 0; i < full.size(); ++i) {
    INFO("retry " << i);
    CHECK(connect_backoff_ms(i, 0.0) == full[i] / 2);
    CHECK(connect_backoff_ms(i, 0.999999) == full[i] - 1);
    CHECK(connect_backoff_ms(i, 0.5) >= full[i] / 2);
    CHECK(connect_backoff_ms(i, 0.5) <= full[i]);
  }
  CHECK(connect_backoff_ms(1000, 1.0) == 500);  // never past the cap, however many retries
}
