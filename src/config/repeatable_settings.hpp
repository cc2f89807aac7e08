#pragma once
// Inside config/: the settings that take a list of items, --forward LISTEN=UPSTREAM[@COMPONENT]
// and --tcp-check NAME=HOST:PORT, and the component names they may refer to.
#include <optional>
#include <string>

#include "config/settings_table.hpp"

namespace lg::config {

// --forward: items in order; `off` drops the routes before it.
std::optional<std::string> apply_forward(ParseState& c, const std::string& v);
// --tcp-check: items in order; `off` drops the checks before it.
std::optional<std::string> apply_tcp_checks(ParseState& c, const std::string& v);
// A component a route may follow: a listed one or a --tcp-check name (applied before the
// forwarder's settings); an error message otherwise.
std::optional<std::string> check_component_name(const ParseState& c, const std::string& name);

}  // namespace lg::config
