#pragma once
// Inside config/: the table of every setting (its flag, variable, default, --help line and how
// its value is applied) and the state one parse fills. config.cpp reads flags, variables and
// files against it; components.cpp adds each component's rows; schedules.cpp finishes what the
// probe-* and --NAME-* rows left.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace lg::config {

enum class Kind { Value, Bool, List };

// What a parse builds as it applies the rows in table order.
struct ParseState {
  Config cfg;
  ProbeSchedule defaults;  // the probe-* settings, applied to every component in schedules.cpp
  // --NAME-interval, --NAME-timeout, ... as given (setting name -> raw value), applied over the
  // defaults once every row is read.
  std::map<std::string, std::string> overrides;
};

// Applies a raw value; returns an error message (that may quote the value: redacted later).
using Apply = std::function<std::optional<std::string>(ParseState&, const std::string&)>;

struct Setting {
  std::string name;  // flag without "--"
  std::string def;
  std::string help;
  std::string group;
  Kind kind;
  Apply apply;
  bool secret = false;        // default or value may hold a password: redact in --help
  bool whole_secret = false;  // the whole value is a secret (a token, a password)

  std::string env() const;    // LETTAGATE_NAME
  std::string label() const;  // "--name (LETTAGATE_NAME)"
};

struct SettingsTable {
  std::vector<Setting> rows;
  std::string group;  // the --help group of the rows added next

  Setting& add(std::string name, std::string def, std::string help, Kind kind, Apply apply);
  // A secret setting: its value (and default) may hold a password; `whole`: all of it is secret.
  void secret(bool whole = false);
  // NAME-file (LETTAGATE_NAME_FILE) for the secret setting just added; config.cpp reads it.
  void file_of_last();
};

const std::vector<Setting>& table();
const Setting* find_setting(const std::string& name);

// Typed appliers: parse, check the range, store in the field `field` returns.
Apply duration_to(std::function<core::Millis&(ParseState&)> field, core::Millis min = core::Millis{0});
Apply int_to(std::function<int&(ParseState&)> field, long lo, long hi);
Apply bool_to(std::function<bool&(ParseState&)> field);
Apply string_to(std::function<std::string&(ParseState&)> field);

}  // namespace lg::config
