#include "config/repeatable_settings.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "config/value_parsers.hpp"

namespace lg::config {
namespace {

bool is_listed_component(const std::string& name) {
  const auto names = component_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

// One item of --forward (LISTEN=UPSTREAM[@COMPONENT]) into `route`; an error message otherwise.
std::optional<std::string> parse_route(const ParseState& c, const std::string& item, ForwardRoute& route) {
  auto eq = item.find('=');
  if (eq == std::string::npos)
    return fmt::format("'{}' is not LISTEN=UPSTREAM[@COMPONENT] (e.g. 0.0.0.0:8283=letta-server:8283)", item);
  std::string why;
  auto listen = core::parse_host_port(item.substr(0, eq), &why);
  if (!listen) return fmt::format("'{}': listen address: {}", item, why);
  if (auto err = require_ip(*listen, "a route")) return fmt::format("'{}': {}", item, *err);
  const auto at = item.find('@', eq);
  auto up = core::parse_host_port(item.substr(eq + 1, at == std::string::npos ? std::string::npos : at - eq - 1), &why);
  if (!up) return fmt::format("'{}': upstream: {}", item, why);
  route = ForwardRoute{*listen, *up, item.substr(0, at), std::nullopt};
  if (at != std::string::npos) {
    const std::string component = item.substr(at + 1);
    if (!is_off(component)) {
      if (auto err = check_component_name(c, component)) return fmt::format("'{}': {}", item, *err);
    }
    route.health = is_off(component) ? "" : component;
  }
  return std::nullopt;
}

}  // namespace

// A misspelt name would leave a route following nothing: refused. A known component that is
// switched off only earns a warning at start (the route then ignores health).
std::optional<std::string> check_component_name(const ParseState& c, const std::string& name) {
  std::string names;
  for (const auto& n : component_names()) names += (names.empty() ? "" : ", ") + n;
  for (const auto& t : c.cfg.tcp_checks) {
    if (t.name == name) return std::nullopt;
    names += ", " + t.name;
  }
  if (is_listed_component(name)) return std::nullopt;
  return fmt::format("'{}' is not a component (one of {}; or off)", name, names);
}

// Items in order; `off` drops the routes before it, so `--forward off --forward X` is X alone
// (a variable's routes are replaced by the flags anyway).
std::optional<std::string> apply_forward(ParseState& c, const std::string& v) {
  auto& f = c.cfg.forward;
  f.routes.clear();
  if (is_off(v)) return std::nullopt;
  for (const auto& item : split_list(v)) {
    if (item == "off") {
      f.routes.clear();
      continue;
    }
    ForwardRoute route;
    if (auto err = parse_route(c, item, route)) return err;
    if (listens_overlap(route.listen, false, c.cfg.server.listen, true))
      return fmt::format("'{}': {} is also the health server's --listen {}", item, route.listen.str(),
                         c.cfg.server.listen.str());
    for (const auto& other : f.routes) {
      if (listens_overlap(route.listen, false, other.listen, false))
        return fmt::format("'{}': {} is already the listen address of route '{}'", item, route.listen.str(), other.name);
    }
    f.routes.push_back(std::move(route));
  }
  return std::nullopt;
}

std::optional<std::string> apply_tcp_checks(ParseState& c, const std::string& v) {
  c.cfg.tcp_checks.clear();
  if (is_off(v)) return std::nullopt;
  for (const auto& item : split_list(v)) {
    if (item == "off") {  // as for --forward: drops the checks before it
      c.cfg.tcp_checks.clear();
      continue;
    }
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) return fmt::format("'{}' is not NAME=HOST:PORT", item);
    auto name = item.substr(0, eq);
    for (char ch : name) {
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-')
        return fmt::format("'{}': name '{}' may only use letters, digits, '-' and '_'", item, name);
    }
    if (is_listed_component(name)) return fmt::format("'{}': name '{}' is taken by a built-in component", item, name);
    std::string why;
    auto hp = core::parse_host_port(item.substr(eq + 1), &why);
    if (!hp) return fmt::format("'{}': {}", item, why);
    c.cfg.tcp_checks.push_back({name, *hp, {}});
  }
  return std::nullopt;
}

}  // namespace lg::config
