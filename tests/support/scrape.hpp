#pragma once
// One Prometheus text scrape (lettagate's /metrics, or a Registry's exposition), parsed into
// samples so tests assert metric values by name and labels, not by matching text.
#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

// Failure messages show a metric's value, or "absent".
namespace Catch {
template <>
struct StringMaker<std::optional<double>> {
  static std::string convert(const std::optional<double>& v) { return v ? StringMaker<double>::convert(*v) : "absent"; }
};
}  // namespace Catch

namespace lgtest {

using Labels = std::map<std::string, std::string>;

// One /metrics scrape, parsed: every sample with its name, labels and value.
class Scrape {
 public:
  struct Sample {
    std::string name;
    Labels labels;
    double value = 0;
  };

  explicit Scrape(const std::string& text) : text_(text) {
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      std::string line = text.substr(pos, end - pos);
      pos = end + 1;
      if (line.empty() || line[0] == '#') continue;
      Sample s;
      size_t i = line.find_first_of("{ ");
      if (i == std::string::npos) continue;
      s.name = line.substr(0, i);
      if (line[i] == '{') {
        ++i;
        while (i < line.size() && line[i] != '}') {
          size_t eq = line.find('=', i);
          if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') break;
          std::string key = line.substr(i, eq - i), value;
          size_t j = eq + 2;
          for (; j < line.size() && line[j] != '"'; ++j) {
            if (line[j] == '\\' && j + 1 < line.size()) {
              ++j;
              value += line[j] == 'n' ? '\n' : line[j];
            } else {
              value += line[j];
            }
          }
          s.labels[key] = value;
          i = j + 1;
          if (i < line.size() && line[i] == ',') ++i;
        }
        i = line.find(' ', i);
        if (i == std::string::npos) continue;
      }
      s.value = std::stod(line.substr(i + 1));
      samples_.push_back(std::move(s));
    }
  }

  // The value of the one sample named `name` whose labels include `labels`; nullopt if none.
  std::optional<double> get(const std::string& name, const Labels& labels = {}) const {
    for (const auto& s : samples_) {
      if (s.name == name && includes(s.labels, labels)) return s.value;
    }
    return std::nullopt;
  }
  // Like get(), 0 when absent (a counter that has not counted yet); for counters only.
  double counter(const std::string& name, const Labels& labels = {}) const { return get(name, labels).value_or(0); }
  // Every sample named `name` whose labels include `labels`.
  std::vector<Sample> all(const std::string& name, const Labels& labels = {}) const {
    std::vector<Sample> out;
    for (const auto& s : samples_)
      if (s.name == name && includes(s.labels, labels)) out.push_back(s);
    return out;
  }
  const std::string& text() const { return text_; }

 private:
  static bool includes(const Labels& have, const Labels& want) {
    for (const auto& [k, v] : want) {
      auto it = have.find(k);
      if (it == have.end() || it->second != v) return false;
    }
    return true;
  }
  std::string text_;
  std::vector<Sample> samples_;
};

}  // namespace lgtest
