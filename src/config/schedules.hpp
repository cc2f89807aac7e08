#pragma once
// Inside config/: each component's probe schedule once every row is applied (the probe-*
// defaults, then its own --NAME-* settings, then what its other settings ask), and the checks
// across settings that no single row can make.
#include <optional>

#include "config/settings_table.hpp"

namespace lg::config {

// Fills every component's and every --tcp-check's schedule; an error for a bad --NAME-* value.
std::optional<ConfigError> finish_schedules(ParseState& c);

// A probe whose timeout is longer than its interval, and the components' own checks.
std::optional<ConfigError> cross_checks(const ParseState& c);

}  // namespace lg::config
