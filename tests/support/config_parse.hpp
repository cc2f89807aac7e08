#pragma once
// Parsing a configuration in a test: arguments and a fake environment in, the ParseResult or
// the exit-2 error out. Shared by tests/unit/config_*_test.cpp.
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "app/components.hpp"
#include "config/config.hpp"

namespace lgtest {

// A fake environment for one test at a time (parse_config takes a plain function pointer).
inline std::map<std::string, std::string>& fake_env() {
  static std::map<std::string, std::string> env;
  return env;
}

inline lg::config::ParseResult parse(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  fake_env() = std::move(env);
  auto lookup = [](const char* name) -> const char* {
    auto it = fake_env().find(name);
    return it == fake_env().end() ? nullptr : it->second.c_str();
  };
  auto names = [] {
    std::vector<std::string> out;
    for (const auto& [name, value] : fake_env()) out.push_back(name);
    return out;
  };
  return lg::config::parse_config(args, lookup, names);
}

// The error `serve` and `wait` exit 2 with: parsing's, or what the probes' client libraries
// judge before anything starts (a libpq connection string).
inline std::string error_of(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  auto r = parse(std::move(args), std::move(env));
  if (r.config) {
    if (auto err = lg::app::check_probe_settings(*r.config)) return err->str();
  }
  REQUIRE(r.error);
  REQUIRE_FALSE(r.config);
  return r.error->str();
}

}  // namespace lgtest
