#pragma once
// The Postgres probe's pure parts, socket-free and unit-tested:
//   probe_sql       the one simple-query string an attempt sends (one round trip)
//   parse_libpq_error / reason_code_for   libpq's error text and SQLSTATEs as reason codes
//   evaluate        the verdict on a PgReply: liveness, pgvector, Letta's data guard, identity pin
#include <chrono>
#include <initializer_list>
#include <string>
#include <string_view>

#include "probes/outcome.hpp"
#include "probes/pg_reply.hpp"

namespace lg::probes::pg {

// What the probe requires of the database (from PostgresSettings).
struct CheckSpec {
  bool require_vector = true;
  bool data_guard = true;
  int min_agents = 0;
  std::string identity;  // pinned system identifier; empty: not pinned
};

// The query string, three statements answered in one round trip:
//   0  set_config(statement_timeout = server_timeout, lock_timeout = half of it) for this
//      transaction only, so a slow or locked `agents` table is answered by the server with a
//      precise error before the runner's timeout gives up (never search_path: Letta's
//      database sets its own)
//   1  server version, database, search_path, pgvector's extversion, and with the data guard:
//      whether `agents` resolves through the search_path (to_regclass, unqualified) and the
//      live agent count, read through query_to_xml only when the table exists (a plain
//      count(*) would fail to parse in an unmigrated database and abort the string)
//   2  pg_control_system()'s system_identifier, last: should the role not be allowed to call
//      it, only this statement fails
std::string probe_sql(const CheckSpec& spec, std::chrono::milliseconds server_timeout);

// Splits PQerrorMessage text (verbosity VERBOSE) into SQLSTATE and one readable line: drops
// libpq's "connection to server at ..., port N failed: " prefix (reasons name the server
// themselves), the severity, LOCATION lines and hints. With several hosts tried, the last
// attempt's error is the one kept.
PgError parse_libpq_error(std::string_view text);

// The reason_code for an error: the SQLSTATE when the server sent one, else libpq's text.
std::string reason_code_for(std::string_view sqlstate, std::string_view message);

// `text` with every occurrence of `secret` replaced by "***". Skipped when the secret is
// empty or equals one of `public_words` (a password "letta" for user "letta" and database
// "letta" would otherwise blank out the names every reason shows, and reveals nothing).
std::string scrub(std::string text, const std::string& secret, std::initializer_list<std::string_view> public_words);

// A C string libpq may return as NULL (a missing field, an unset variable), as text: "" for NULL.
inline std::string pq_text(const char* v) { return v ? v : ""; }

// "127.0.0.1:5432", "[::1]:5432", "/run/postgresql/.s.PGSQL.5432".
std::string server_address(const std::string& host, const std::string& port);

// The verdict. Failures name the database and the server; facts learnt on the way
// (server_version, database, pgvector, agents, system_identifier) are in facts either way.
Outcome evaluate(const PgReply& reply, const CheckSpec& spec);

}  // namespace lg::probes::pg
