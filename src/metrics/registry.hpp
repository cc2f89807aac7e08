#pragma once
// Metrics: counters, gauges and histograms in labelled families, exposed in the Prometheus
// text format 0.0.4. Everything runs on the one loop thread, so values are plain numbers.
// Children live as long as the registry: hot paths keep a reference (Counter&) and add to it.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

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
  FamilyBase(std::string name, std::string help, std::vector<std::string> label_names, Type type)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)), type_(type) {}
  virtual ~FamilyBase() = default;
  const std::string& name() const { return name_; }
  virtual void expose(std::string& out) const = 0;

 protected:
  std::string labels_text(const std::vector<std::string>& values, const std::string& extra = {}) const;
  void header(std::string& out) const;

  std::string name_, help_;
  std::vector<std::string> label_names_;
  Type type_;
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
  void clear() { children_.clear(); }
  void remove(const std::vector<std::string>& values) { children_.erase(values); }
  void expose(std::string& out) const override;

 private:
  std::vector<double> bounds_;
  std::map<std::vector<std::string>, std::unique_ptr<M>> children_;
};

class Registry {
 public:
  Family<Counter>& counter(const std::string& name, const std::string& help, std::vector<std::string> labels = {});
  Family<Gauge>& gauge(const std::string& name, const std::string& help, std::vector<std::string> labels = {});
  Family<Histogram>& histogram(const std::string& name, const std::string& help, std::vector<std::string> labels,
                               std::vector<double> bounds);
  // Run before each exposition, to refresh values read from elsewhere (process_* from /proc).
  void add_collector(std::function<void()> collect) { collectors_.push_back(std::move(collect)); }
  std::string expose();

  static std::vector<double> latency_buckets();   // 1 ms .. 10 s
  static std::vector<double> duration_buckets();  // 10 ms .. 4 h (connection lifetimes)

 private:
  FamilyBase* find(const std::string& name);
  std::vector<std::unique_ptr<FamilyBase>> families_;
  std::vector<std::function<void()>> collectors_;
};

// Text-format escaping, exposed for tests.
std::string escape_label_value(const std::string& v);
std::string escape_help(const std::string& v);
std::string format_value(double v);

}  // namespace lg::metrics
