#pragma once
// What only libpq can judge about --postgres-dsn: whether libpq loads and reads the connection
// string, and whether its ports are numbers (libpq itself takes any text as a port and only
// fails when it connects). Checked when `serve` or `wait` makes the probe, not while parsing
// the configuration: `lettagate check` never loads libpq.
#include <optional>
#include <string>

namespace lg::probes {

// nullopt when the postgres probe can use `dsn`; else an error message quoting it redacted.
std::optional<std::string> check_postgres_dsn(const std::string& dsn);

}  // namespace lg::probes
