#pragma once
#include <string>

namespace lg::config {

// A setting that cannot be used: exit 2, with the setting named.
struct ConfigError {
  std::string setting;  // e.g. "--postgres-dsn (LETTAGATE_POSTGRES_DSN)"
  std::string message;  // never contains a secret
  std::string str() const { return "invalid " + setting + ": " + message; }
};

}  // namespace lg::config
