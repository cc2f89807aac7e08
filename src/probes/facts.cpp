#include "probes/facts.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace lg::probes {

bool Facts::empty() const {
  bool any = false;
  for_each_fact_field([&](const auto& field, size_t) { any = any || (this->*field.member).has_value(); });
  return !any;
}

void Facts::fill_from(const Facts& other) {
  for_each_fact_field([&](const auto& field, size_t) {
    if (!(this->*field.member) && other.*field.member) this->*field.member = other.*field.member;
  });
}

std::string fact_text(const std::string& v) { return v; }
std::string fact_text(long long v) { return v == kUnknownCount ? "unknown" : std::to_string(v); }
std::string fact_text(double v) { return fmt::format("{:.0f}", v); }

nlohmann::json facts_json(const Facts& facts) {
  nlohmann::json j = nlohmann::json::object();
  for_each_fact_field([&](const auto& field, size_t) {
    if (const auto& v = facts.*field.member) j[field.name] = fact_text(*v);
  });
  return j;
}

}  // namespace lg::probes
