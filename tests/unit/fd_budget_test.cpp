// The file-descriptor budget (app/fd_budget.hpp): the probes and the health server keep their
// descriptors whatever the forwarder's cap says, configured caps that fit are kept, and the
// total never exceeds the limit.
#include <catch2/catch.hpp>

#include "app/fd_budget.hpp"

using namespace lg::app;

namespace {

FdBudgetInput stack(uint64_t limit) {
  FdBudgetInput in;
  in.limit = limit;
  in.in_use = 6;
  in.routes = 1;
  in.probes = 4;
  return in;  // default caps: health 512, forwarder 4096
}

// Everything the budget hands out, at the caps it chose, plus what was open: within the limit.
int64_t worst_case(const FdBudget& b, const FdBudgetInput& in) {
  return in.in_use + 4 + b.listeners + b.for_probes + b.health_cap + kFdsHealthSlack +
         int64_t{2} * b.forward_cap * in.routes;
}

}  // namespace

TEST_CASE("fd budget: a large limit keeps the configured caps", "[unit]") {
  const auto in = stack(1 << 20);
  const FdBudget b = plan_fd_budget(in);
  CHECK(b.health_cap == 512);
  CHECK(b.forward_cap == 4096);
  CHECK_FALSE(b.health_lowered);
  CHECK_FALSE(b.forward_lowered);
  CHECK(b.for_probes == 4 * kFdsPerProbe + kFdsForLookups);
  CHECK_THAT(describe(b, in, 1024, 1 << 20), Catch::Contains("soft limit raised from 1024"));
}

TEST_CASE("fd budget: ulimit -n 256 lowers both caps and leaves the probes theirs", "[unit]") {
  const auto in = stack(256);
  const FdBudget b = plan_fd_budget(in);
  CHECK(b.health_lowered);
  CHECK(b.forward_lowered);
  CHECK(b.health_cap >= kMinHealthCap);
  CHECK(b.health_cap <= 512);
  CHECK(b.forward_cap > 50);  // most of what is left
  CHECK(b.forward_cap < 128);
  CHECK(worst_case(b, in) <= 256);
  CHECK_FALSE(b.too_small);
  const std::string line = describe(b, in, 256, 256);
  CHECK_THAT(line, Catch::Contains("limit 256 (the hard limit)"));
  CHECK_THAT(line, Catch::Contains("--forward-max-connections 4096 does not fit"));
  CHECK_THAT(line, Catch::Contains("--max-connections 512 does not fit"));
}

TEST_CASE("fd budget: only the forwarder is lowered when the health cap fits its share", "[unit]") {
  const auto in = stack(4096);
  const FdBudget b = plan_fd_budget(in);
  CHECK(b.health_cap == 512);
  CHECK_FALSE(b.health_lowered);
  CHECK(b.forward_lowered);
  CHECK(worst_case(b, in) <= 4096);
  CHECK(worst_case(b, in) > 4096 - 4);  // nothing wasted beyond rounding
}

TEST_CASE("fd budget: the caps are spread over the routes", "[unit]") {
  auto in = stack(1024);
  in.routes = 3;
  const FdBudget b = plan_fd_budget(in);
  CHECK(worst_case(b, in) <= 1024);
  CHECK(b.for_forwarder == 2 * 3 * b.forward_cap);
}

TEST_CASE("fd budget: without a forwarder the health server may use what is free", "[unit]") {
  auto in = stack(256);
  in.routes = 0;
  const FdBudget b = plan_fd_budget(in);
  CHECK(b.health_lowered);
  CHECK(b.health_cap > 150);
  CHECK(worst_case(b, in) <= 256);
  CHECK(b.for_forwarder == 0);
}

TEST_CASE("fd budget: a limit too low for the minimums says so and keeps floors", "[unit]") {
  auto in = stack(40);
  const FdBudget b = plan_fd_budget(in);
  CHECK(b.too_small);
  CHECK(b.health_cap == kMinHealthCap);
  CHECK(b.forward_cap == 1);
  CHECK_THAT(describe(b, in, 40, 40), Catch::Contains("too low"));
}
