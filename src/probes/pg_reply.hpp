#pragma once
// What one PgAttempt round trip brought back, as plain values: a connection-level failure, or
// the result of each statement of the query string in order. PgAttempt fills it; the probe's
// pure checks (pg_checks.hpp) judge it, so the judging is tested without a server.
#include <optional>
#include <string>
#include <vector>

namespace lg::probes::pg {

// An error as libpq or the server reported it. `message` is one readable line, never the
// password; `code` is the reason_code it maps to (reason_code_for).
struct PgError {
  std::string code;      // refused, dns, auth_failed, database_missing, ...
  std::string sqlstate;  // "28P01" when the server sent one, else empty (client-side error)
  std::string message;   // "password authentication failed for user \"letta\""
};

using PgRow = std::vector<std::optional<std::string>>;  // NULL is nullopt

// One statement of a simple-query string: its rows, or the error that ended the string.
struct PgStatement {
  bool ok = false;
  PgError error;  // when !ok
  std::vector<PgRow> rows;
};

struct PgReply {
  bool connected = false;          // connected and authenticated
  std::optional<PgError> failure;  // the attempt failed before the query's results were in
  // As libpq used them (PQdb, PQhost, PQport, PQuser); before a connection exists, from the
  // parsed connection string.
  std::string database;
  std::string host;
  std::string port;
  std::string user;
  // One per statement in order; a failing statement is the last (it aborts the rest).
  std::vector<PgStatement> statements;
};

}  // namespace lg::probes::pg
