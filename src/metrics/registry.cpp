#include "metrics/registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace lg::metrics {

std::string escape_label_value(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string escape_help(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);  // shortest round-trip form
}

void Histogram::observe(double v) {
  auto it = std::lower_bound(bounds_->begin(), bounds_->end(), v);
  if (it != bounds_->end()) ++counts_[static_cast<size_t>(it - bounds_->begin())];
  ++count_;
  sum_ += v;
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

void FamilyBase::header(std::string& out) const {
  static const char* kTypes[] = {"counter", "gauge", "histogram"};
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name_, escape_help(help_), name_,
                     kTypes[static_cast<int>(type_)]);
}

template <typename M>
M& Family<M>::with(const std::vector<std::string>& values) {
  if (values.size() != label_names_.size()) {
    throw std::logic_error(fmt::format("metric {}: {} label values for {} labels", name_, values.size(),
                                       label_names_.size()));
  }
  auto it = children_.find(values);
  if (it != children_.end()) return *it->second;
  std::unique_ptr<M> child;
  if constexpr (std::is_same_v<M, Histogram>) child = std::make_unique<Histogram>(bounds_);
  else child = std::make_unique<M>();
  auto& ref = *child;
  children_.emplace(values, std::move(child));
  return ref;
}

template <>
void Family<Counter>::expose(std::string& out) const {
  header(out);
  for (const auto& [labels, c] : children_) out += name_ + labels_text(labels) + " " + format_value(c->value()) + "\n";
}

template <>
void Family<Gauge>::expose(std::string& out) const {
  header(out);
  for (const auto& [labels, g] : children_) out += name_ + labels_text(labels) + " " + format_value(g->value()) + "\n";
}

template <>
void Family<Histogram>::expose(std::string& out) const {
  header(out);
  for (const auto& [labels, h] : children_) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h->bounds().size(); ++i) {
      cumulative += h->counts()[i];
      out += name_ + "_bucket" + labels_text(labels, "le=\"" + format_value(h->bounds()[i]) + "\"") + " " +
             std::to_string(cumulative) + "\n";
    }
    out += name_ + "_bucket" + labels_text(labels, "le=\"+Inf\"") + " " + std::to_string(h->count()) + "\n";
    out += name_ + "_sum" + labels_text(labels) + " " + format_value(h->sum()) + "\n";
    out += name_ + "_count" + labels_text(labels) + " " + std::to_string(h->count()) + "\n";
  }
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

std::string Registry::expose() {
  for (auto& c : collectors_) c();
  std::string out;
  out.reserve(8192);
  for (const auto& f : families_) f->expose(out);
  return out;
}

std::vector<double> Registry::latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> Registry::duration_buckets() {
  return {0.01, 0.1, 1, 10, 60, 300, 1800, 3600, 14400};
}

}  // namespace lg::metrics
