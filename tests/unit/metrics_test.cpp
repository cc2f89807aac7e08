#include <unistd.h>

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>

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

TEST_CASE("values print as before: integers, else fmt's shortest round-trip form", "[unit][metrics]") {
  CHECK(format_value(0) == "0");
  CHECK(format_value(-0.0) == "0");
  CHECK(format_value(-7) == "-7");
  CHECK(format_value(999999999999999) == "999999999999999");
  CHECK(format_value(1e15) == "1000000000000000");  // fmt switches to exponents at 1e16
  CHECK(format_value(1e16) == "1e+16");
  CHECK(format_value(0.0001) == "0.0001");  // histogram bounds keep their le="..." text
  CHECK(format_value(0.00025) == "0.00025");
  CHECK(format_value(6.05) == "6.05");
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> mant(-10, 10);
  std::uniform_int_distribution<int> exp(-12, 20);
  for (int i = 0; i < 2000; ++i) {
    const double v = std::ldexp(mant(rng), exp(rng) * 2);
    const bool whole = v == std::floor(v) && std::fabs(v) < 1e15;
    INFO(v);
    CHECK(format_value(v) == (whole ? fmt::format("{}", static_cast<int64_t>(v)) : fmt::format("{}", v)));
  }
}

TEST_CASE("a scrape renders current values into the reused buffer", "[unit][metrics]") {
  Registry r;
  auto& c = r.counter("x_total", "X.", {"k"}).with({"a"});
  auto& h = r.histogram("x_seconds", "H.", {}, {0.5}).with();
  c.inc();
  std::string first(r.render());
  c.inc(2.5);
  h.observe(0.25);
  auto& later = r.gauge("x_late", "Added after a scrape.", {"v"}).with({std::string(300, 'z')});
  later.set(-1.25);
  std::string second(r.render());
  CHECK_THAT(first, Catch::Contains("x_total{k=\"a\"} 1\n"));
  CHECK_THAT(second, Catch::Contains("x_total{k=\"a\"} 3.5\n"));
  CHECK_THAT(second, Catch::Contains("x_seconds_bucket{le=\"0.5\"} 1\nx_seconds_bucket{le=\"+Inf\"} 1\n"
                                     "x_seconds_sum 0.25\nx_seconds_count 1\n"));
  CHECK_THAT(second, Catch::EndsWith("\"} -1.25\n"));
  r.gauge("x_late", "", {"v"}).clear();
  CHECK_THAT(r.expose(), !Catch::Contains("x_late{"));
  CHECK_THAT(r.expose(), Catch::EndsWith("# TYPE x_late gauge\n"));
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
  // Read from statm and the fd directory's size: the same numbers /proc/self/stat and a
  // listing of /proc/self/fd give.
  auto value = [&out](const std::string& name) {
    auto p = out.find("\n" + name + " ");
    REQUIRE(p != std::string::npos);
    return std::stod(out.substr(p + name.size() + 2));
  };
  CHECK(value("process_virtual_memory_bytes") > value("process_resident_memory_bytes"));
  CHECK(value("process_open_fds") >= 3);
  CHECK(value("process_open_fds") < value("process_max_fds"));
  CHECK(value("process_start_time_seconds") > 1.6e9);
  CHECK(value("process_cpu_seconds_total") > 0);
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
