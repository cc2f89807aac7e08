#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>

#include "metrics/process_metrics.hpp"
#include "metrics/registry.hpp"
#include "support/test_env.hpp"

using namespace lg::metrics;

TEST_CASE("exposition: HELP, TYPE, labels and values", "[unit][metrics]") {
  Registry r;
  r.counter("x_requests_total", "Requests.", {"code"}).with({"200"}).inc(3);
  r.gauge("x_temp", "Temp.").with().set(1.5);
  std::string out = r.expose();
  CHECK_THAT(out, Catch::Contains("# HELP x_requests_total Requests.\n# TYPE x_requests_total counter\n"
                                  "x_requests_total{code=\"200\"} 3\n"));
  CHECK_THAT(out, Catch::Contains("# TYPE x_temp gauge\nx_temp 1.5\n"));
}

TEST_CASE("exposition escapes label values and help text", "[unit][metrics]") {
  CHECK(escape_label_value("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
  CHECK(escape_help("line1\nback\\slash") == "line1\\nback\\\\slash");
  Registry r;
  r.gauge("x_info", "Info with \\ and\nnewline.", {"reason"}).with({"said \"no\"\n"}).set(1);
  std::string out = r.expose();
  CHECK_THAT(out, Catch::Contains("# HELP x_info Info with \\\\ and\\nnewline.\n"));
  CHECK_THAT(out, Catch::Contains("x_info{reason=\"said \\\"no\\\"\\n\"} 1\n"));
}

TEST_CASE("histograms are cumulative with +Inf, sum and count", "[unit][metrics]") {
  Registry r;
  auto& h = r.histogram("x_seconds", "Latency.", {"c"}, {0.1, 1}).with({"a"});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(0.5);
  h.observe(5);
  std::string out = r.expose();
  CHECK_THAT(out, Catch::Contains("x_seconds_bucket{c=\"a\",le=\"0.1\"} 1\n"));
  CHECK_THAT(out, Catch::Contains("x_seconds_bucket{c=\"a\",le=\"1\"} 3\n"));
  CHECK_THAT(out, Catch::Contains("x_seconds_bucket{c=\"a\",le=\"+Inf\"} 4\n"));
  CHECK_THAT(out, Catch::Contains("x_seconds_sum{c=\"a\"} 6.05\n"));
  CHECK_THAT(out, Catch::Contains("x_seconds_count{c=\"a\"} 4\n"));
}

TEST_CASE("special values and label arity", "[unit][metrics]") {
  CHECK(format_value(1.0 / 0.0) == "+Inf");
  CHECK(format_value(-1.0 / 0.0) == "-Inf");
  CHECK(format_value(0.0 / 0.0) == "NaN");
  CHECK(format_value(42) == "42");
  Registry r;
  CHECK_THROWS(r.counter("x_total", "X.", {"a"}).with({"1", "2"}));
}

TEST_CASE("process metrics and build info are exported", "[unit][metrics]") {
  Registry r;
  register_process_metrics(r);
  register_build_info(r);
  std::string out = r.expose();
  for (const char* name : {"process_resident_memory_bytes ", "process_open_fds ", "process_cpu_seconds_total ",
                           "process_start_time_seconds ", "process_max_fds ", "lettagate_build_info{version=\""}) {
    CHECK_THAT(out, Catch::Contains(name));
  }
  auto pos = out.find("\nprocess_resident_memory_bytes ");
  REQUIRE(pos != std::string::npos);
  CHECK(std::stod(out.substr(pos + 31)) > 1e6);
}

TEST_CASE("promtool accepts the exposition, tricky labels included", "[unit][metrics][promtool]") {
  Registry r;
  register_process_metrics(r);
  register_build_info(r);
  r.counter("lettagate_probe_failures_total", "Failures.", {"component", "reason"}).with({"postgres", "a \"q\"\\x\n"}).inc();
  r.histogram("lettagate_probe_latency_seconds", "Latency.", {"component"}, Registry::latency_buckets())
      .with({"letta"})
      .observe(0.003);
  r.gauge("probe_success", "Success.", {"component"}).with({"letta"}).set(1);
  char path[] = "/tmp/lg-metrics-XXXXXX";
  int fd = mkstemp(path);
  std::string out = r.expose();
  REQUIRE(write(fd, out.data(), out.size()) == static_cast<ssize_t>(out.size()));
  close(fd);
  auto res = lgtest::run(std::string("promtool check metrics < ") + path);
  unlink(path);
  INFO(res.out);
  CHECK(res.exit_code == 0);
}
