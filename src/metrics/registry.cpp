#include "metrics/registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace lg::metrics {

void Histogram::observe(double v) {
  auto it = std::lower_bound(bounds_->begin(), bounds_->end(), v);
  if (it != bounds_->end()) ++counts_[static_cast<size_t>(it - bounds_->begin())];
  ++count_;
  sum_ += v;
}

FamilyBase::FamilyBase(std::string name, std::string help, std::vector<std::string> label_names, Type type)
    : name_(std::move(name)), label_names_(std::move(label_names)), type_(type) {
  static const char* kTypes[] = {"counter", "gauge", "histogram"};
  header_ = fmt::format("# HELP {} {}\n# TYPE {} {}\n", name_, escape_help(help), name_, kTypes[static_cast<int>(type_)]);
}

std::string FamilyBase::labels_text(const std::vector<std::string>& values, const std::string& extra) const {
  if (label_names_.empty() && extra.empty()) return {};
  std::string out = "{";
  for (size_t i = 0; i < label_names_.size(); ++i) {
    if (i) out += ',';
    out += label_names_[i] + "=\"" + escape_label_value(i < values.size() ? values[i] : "") + "\"";
  }
  if (!extra.empty()) {
    if (!label_names_.empty()) out += ',';
    out += extra;
  }
  return out + "}";
}

template <typename M>
typename Family<M>::Child Family<M>::make_child(const std::vector<std::string>& values) const {
  Child c;
  if constexpr (std::is_same_v<M, Histogram>) {
    c.metric = std::make_unique<Histogram>(bounds_);
    c.series.reserve(bounds_.size() + 3);
    for (double b : bounds_)
      c.series.push_back(name_ + "_bucket" + labels_text(values, "le=\"" + format_value(b) + "\"") + " ");
    c.series.push_back(name_ + "_bucket" + labels_text(values, "le=\"+Inf\"") + " ");
    c.series.push_back(name_ + "_sum" + labels_text(values) + " ");
    c.series.push_back(name_ + "_count" + labels_text(values) + " ");
  } else {
    c.metric = std::make_unique<M>();
    c.series.push_back(name_ + labels_text(values) + " ");
  }
  for (const auto& s : c.series) c.max_bytes += s.size() + kMaxValueLine;
  return c;
}

template <typename M>
M& Family<M>::with(const std::vector<std::string>& values) {
  if (values.size() != label_names_.size()) {
    throw std::logic_error(fmt::format("metric {}: {} label values for {} labels", name_, values.size(),
                                       label_names_.size()));
  }
  auto it = children_.find(values);
  if (it == children_.end()) {
    it = children_.emplace(values, make_child(values)).first;
    children_bytes_ += it->second.max_bytes;
    reorder();
  }
  return *it->second.metric;
}

template <typename M>
void Family<M>::clear() {
  children_.clear();
  children_bytes_ = 0;
  ordered_.clear();
}

template <typename M>
void Family<M>::remove(const std::vector<std::string>& values) {
  auto it = children_.find(values);
  if (it == children_.end()) return;
  children_bytes_ -= it->second.max_bytes;
  children_.erase(it);
  reorder();
}

template <typename M>
void Family<M>::reorder() {
  ordered_.clear();
  ordered_.reserve(children_.size());
  for (const auto& [labels, child] : children_) ordered_.push_back(&child);
}

template <typename M>
char* Family<M>::write(char* p) const {
  p = write_text(p, header_);
  for (const Child* child : ordered_) {
    const auto& series = child->series;
    if constexpr (std::is_same_v<M, Histogram>) {
      const Histogram& h = *child->metric;
      const size_t n = h.bounds().size();
      uint64_t cumulative = 0;
      for (size_t i = 0; i < n; ++i) {
        cumulative += h.counts()[i];
        p = write_count_line(write_text(p, series[i]), cumulative);
      }
      p = write_count_line(write_text(p, series[n]), h.count());
      p = write_value_line(write_text(p, series[n + 1]), h.sum(), child->memo);
      p = write_count_line(write_text(p, series[n + 2]), h.count());
    } else {
      p = write_value_line(write_text(p, series[0]), child->metric->value(), child->memo);
    }
  }
  return p;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

FamilyBase* Registry::find(const std::string& name) {
  for (auto& f : families_)
    if (f->name() == name) return f.get();
  return nullptr;
}

Family<Counter>& Registry::counter(const std::string& name, const std::string& help, std::vector<std::string> labels) {
  if (auto* f = find(name)) return dynamic_cast<Family<Counter>&>(*f);
  families_.push_back(std::make_unique<Family<Counter>>(name, help, std::move(labels), Type::Counter));
  return static_cast<Family<Counter>&>(*families_.back());
}

Family<Gauge>& Registry::gauge(const std::string& name, const std::string& help, std::vector<std::string> labels) {
  if (auto* f = find(name)) return dynamic_cast<Family<Gauge>&>(*f);
  families_.push_back(std::make_unique<Family<Gauge>>(name, help, std::move(labels), Type::Gauge));
  return static_cast<Family<Gauge>&>(*families_.back());
}

Family<Histogram>& Registry::histogram(const std::string& name, const std::string& help,
                                       std::vector<std::string> labels, std::vector<double> bounds) {
  if (auto* f = find(name)) return dynamic_cast<Family<Histogram>&>(*f);
  std::sort(bounds.begin(), bounds.end());
  families_.push_back(
      std::make_unique<Family<Histogram>>(name, help, std::move(labels), Type::Histogram, std::move(bounds)));
  return static_cast<Family<Histogram>&>(*families_.back());
}

std::string_view Registry::render() {
  for (auto& c : collectors_) c();
  size_t need = 0;
  for (const auto& f : families_) need += f->max_bytes();
  if (need > buffer_size_) {
    buffer_size_ = need + need / 4;  // room for a few new series before growing again
    buffer_ = std::make_unique_for_overwrite<char[]>(buffer_size_);
  }
  char* p = buffer_.get();
  for (const auto& f : families_) p = f->write(p);
  return {buffer_.get(), static_cast<size_t>(p - buffer_.get())};
}

std::vector<double> Registry::latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> Registry::duration_buckets() {
  return {0.01, 0.1, 1, 10, 60, 300, 1800, 3600, 14400};
}

}  // namespace lg::metrics
