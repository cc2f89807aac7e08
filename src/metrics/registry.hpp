#pragma once
// Metrics: counters, gauges and histograms in labelled families, exposed in the Prometheus
// text format 0.0.4. Everything runs on the one loop thread, so values are plain numbers.
// Children live as long as the registry: hot paths keep a reference (Counter&) and add to it.
// A scrape must be cheap (Prometheus, the benchmark and kubelet-style pollers hit it often):
// every series name with its labels is rendered once, when its child is created, and a scrape
// only appends those strings and formats the numbers into a buffer the registry reuses.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/exposition.hpp"

namespace lg::metrics {

class Counter {
 public:
  void inc(double v = 1.0) { value_ += v; }
  // For totals kept elsewhere (the kernel's CPU time): mirror them at scrape time.
  void mirror(double total) { value_ = total; }
  double value() const { return value_; }

 private:
  double value_ = 0;
};

class Gauge {
 public:
  void set(double v) { value_ = v; }
  void inc(double v = 1.0) { value_ += v; }
  void dec(double v = 1.0) { value_ -= v; }
  double value() const { return value_; }

 private:
  double value_ = 0;
};

class Histogram {
 public:
  explicit Histogram(const std::vector<double>& bounds) : bounds_(&bounds), counts_(bounds.size(), 0) {}
  void observe(double v);
  const std::vector<double>& bounds() const { return *bounds_; }
  const std::vector<uint64_t>& counts() const { return counts_; }  // per bucket, not cumulative
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  const std::vector<double>* bounds_;
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  double sum_ = 0;
};

enum class Type { Counter, Gauge, Histogram };

class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, std::vector<std::string> label_names, Type type);
  virtual ~FamilyBase() = default;
  const std::string& name() const { return name_; }
  // The most bytes write() can produce now (values at their longest).
  size_t max_bytes() const { return header_.size() + children_bytes_; }
  // Writes the family's text at p (max_bytes() of room); returns the end.
  virtual char* write(char* p) const = 0;

 protected:
  std::string labels_text(const std::vector<std::string>& values, const std::string& extra = {}) const;

  std::string name_;
  std::string header_;  // "# HELP ...\n# TYPE ...\n", rendered once
  std::vector<std::string> label_names_;
  Type type_;
  size_t children_bytes_ = 0;  // the children's series texts plus room for their values
};

template <typename M>
class Family : public FamilyBase {
 public:
  using FamilyBase::FamilyBase;
  Family(std::string name, std::string help, std::vector<std::string> labels, Type type, std::vector<double> bounds)
      : FamilyBase(std::move(name), std::move(help), std::move(labels), type), bounds_(std::move(bounds)) {}

  // The child for these label values (in the order the family declared its label names).
  M& with(const std::vector<std::string>& values = {});
  // Drops every child (for info metrics whose labels change, e.g. a new version).
  void clear();
  void remove(const std::vector<std::string>& values);
  char* write(char* p) const override;

 private:
  struct Child {
    std::unique_ptr<M> metric;  // stable address: callers keep references
    // The text before each value, e.g. `name{a="x"} `; histograms: one per bucket (+Inf
    // included), then _sum and _count. Rendered once, when the child is created.
    std::vector<std::string> series;
    size_t max_bytes = 0;
    mutable ValueMemo memo;  // the value's (histograms: the sum's) last fractional text
  };
  Child make_child(const std::vector<std::string>& values) const;
  void reorder();

  std::vector<double> bounds_;
  std::map<std::vector<std::string>, Child> children_;
  // The children in label order, as a scrape walks them (the map's nodes do not move).
  std::vector<const Child*> ordered_;
};

class Registry {
 public:
  Family<Counter>& counter(const std::string& name, const std::string& help, std::vector<std::string> labels = {});
  Family<Gauge>& gauge(const std::string& name, const std::string& help, std::vector<std::string> labels = {});
  Family<Histogram>& histogram(const std::string& name, const std::string& help, std::vector<std::string> labels,
                               std::vector<double> bounds);
  // Run before each exposition, to refresh values read from elsewhere (process_* from /proc).
  void add_collector(std::function<void()> collect) { collectors_.push_back(std::move(collect)); }
  // Runs the collectors and renders every family into a buffer the registry keeps and reuses
  // (grown only when the worst case outgrows it): valid until the next render().
  std::string_view render();
  // The same text as a copy (tests, one-off callers).
  std::string expose() { return std::string(render()); }

  static std::vector<double> latency_buckets();   // 1 ms .. 10 s
  static std::vector<double> duration_buckets();  // 10 ms .. 4 h (connection lifetimes)

 private:
  FamilyBase* find(const std::string& name);
  std::vector<std::unique_ptr<FamilyBase>> families_;
  std::vector<std::function<void()>> collectors_;
  std::unique_ptr<char[]> buffer_;
  size_t buffer_size_ = 0;
};

}  // namespace lg::metrics
