// The Postgres probe's pure parts: libpq's error texts and SQLSTATEs as reason codes, the
// probe's SQL, and the verdict on an answer (pgvector, data guard, identity pin).
#include <catch2/catch.hpp>

#include "probes/pg_checks.hpp"

using namespace lg::probes::pg;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

PgStatement rows(std::vector<PgRow> r) {
  PgStatement s;
  s.ok = true;
  s.rows = std::move(r);
  return s;
}

PgStatement error(std::string sqlstate, std::string message) {
  PgStatement s;
  s.error = {reason_code_for(sqlstate, message), sqlstate, std::move(message)};
  return s;
}

// An answer to probe_sql as the migrated `letta` database of the test stack gives it.
PgReply healthy() {
  PgReply r;
  r.connected = true;
  r.database = "letta";
  r.host = "127.0.0.1";
  r.port = "5432";
  r.user = "letta";
  r.statements.push_back(rows({{"300ms", "300ms"}}));
  r.statements.push_back(rows({{"15.20 (Debian 15.20-0+deb12u1)", "letta", "letta", "0.8.0", "t", "3"}}));
  r.statements.push_back(rows({{"7711993756597407694"}}));
  return r;
}

PgRow& facts(PgReply& r) { return r.statements[1].rows[0]; }

}  // namespace

TEST_CASE("libpq connection errors: prefix, severity and SQLSTATE split off", "[unit][postgres]") {
  auto e = parse_libpq_error(
      "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  28P01: password authentication failed for "
      "user \"letta\"\nLOCATION:  auth_failed, auth.c:334\n");
  CHECK(e.sqlstate == "28P01");
  CHECK(e.message == "password authentication failed for user \"letta\"");
  CHECK(e.code == "auth_failed");

  e = parse_libpq_error(
      "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  3D000: database \"nope\" does not exist\n"
      "LOCATION:  InitPostgres, postinit.c:948\n");
  CHECK(e.sqlstate == "3D000");
  CHECK(e.code == "database_missing");
  CHECK(e.message == "database \"nope\" does not exist");

  e = parse_libpq_error(
      "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\tIs the server running on that "
      "host and accepting TCP/IP connections?\n");
  CHECK(e.sqlstate.empty());
  CHECK(e.message == "connection refused");
  CHECK(e.code == "refused");

  // Without VERBOSE there is no SQLSTATE; the text still decides.
  e = parse_libpq_error("connection to server at \"10.0.0.5\", port 5432 failed: FATAL:  sorry, too many clients already\n");
  CHECK(e.code == "too_many_connections");
  CHECK(e.message == "sorry, too many clients already");
}

TEST_CASE("libpq errors from several hosts: the last attempt's error counts", "[unit][postgres]") {
  auto e = parse_libpq_error(
      "connection to server at \"localhost\" (::1), port 5432 failed: Connection refused\n"
      "\tIs the server running on that host and accepting TCP/IP connections?\n"
      "connection to server at \"localhost\" (127.0.0.1), port 5432 failed: FATAL:  57P03: the database system is "
      "starting up\n");
  CHECK(e.sqlstate == "57P03");
  CHECK(e.code == "starting");
  CHECK(e.message == "the database system is starting up");
}

TEST_CASE("SQLSTATE to reason_code", "[unit][postgres]") {
  CHECK(reason_code_for("28P01", "") == "auth_failed");
  CHECK(reason_code_for("28000", "") == "auth_failed");
  CHECK(reason_code_for("3D000", "") == "database_missing");
  CHECK(reason_code_for("53300", "") == "too_many_connections");
  CHECK(reason_code_for("57P03", "the database system is shutting down") == "starting");
  CHECK(reason_code_for("57P01", "terminating connection due to administrator command") == "shutting_down");
  CHECK(reason_code_for("42501", "permission denied for function pg_control_system") == "permission_denied");
  CHECK(reason_code_for("57014", "canceling statement due to statement timeout") == "timeout");
  CHECK(reason_code_for("55P03", "canceling statement due to lock timeout") == "locked");
  CHECK(reason_code_for("42703", "column \"is_deleted\" does not exist") == "schema_mismatch");
  // An SQLSTATE decides even when the text would say otherwise.
  CHECK(reason_code_for("XX000", "connection refused") == "error");
}

TEST_CASE("client-side libpq texts to reason_code", "[unit][postgres]") {
  CHECK(reason_code_for("", "connection refused") == "refused");
  CHECK(reason_code_for("", "could not translate host name \"db\" to address: Name or service not known") == "dns");
  CHECK(reason_code_for("", "fe_sendauth: no password supplied") == "auth_failed");
  CHECK(reason_code_for("", "timeout expired") == "timeout");
  CHECK(reason_code_for("", "server closed the connection unexpectedly") == "closed");
  CHECK(reason_code_for("", "could not connect to server: No route to host") == "unreachable");
  CHECK(reason_code_for("", "server does not support SSL, but SSL was required") == "tls");
  CHECK(reason_code_for("", "the database system is shutting down") == "starting");
  CHECK(reason_code_for("", "something else entirely") == "error");
}

TEST_CASE("scrub removes the password, unless it is a name the reason shows anyway", "[unit][postgres]") {
  CHECK(scrub("bad 'pg-Secret-7731' here", "pg-Secret-7731", {"letta", "letta"}) == "bad '***' here");
  CHECK(scrub("user \"letta\"", "letta", {"letta", "letta"}) == "user \"letta\"");
  CHECK(scrub("nothing", "", {}) == "nothing");
  CHECK(scrub("aaaa", "aa", {}) == "******");
}

TEST_CASE("server_address names TCP, IPv6 and socket servers", "[unit][postgres]") {
  CHECK(server_address("127.0.0.1", "5432") == "127.0.0.1:5432");
  CHECK(server_address("::1", "5432") == "[::1]:5432");
  CHECK(server_address("/run/postgresql", "5432") == "/run/postgresql/.s.PGSQL.5432");
}

TEST_CASE("probe_sql: agents unqualified through the search_path, never set", "[unit][postgres]") {
  CheckSpec spec;
  const std::string sql = probe_sql(spec, std::chrono::milliseconds(1500));
  CHECK(contains(sql, "to_regclass('agents')"));
  CHECK(contains(sql, "FROM agents WHERE NOT is_deleted"));
  CHECK(contains(sql, "extname = 'vector'"));
  CHECK(contains(sql, "pg_control_system()"));
  CHECK(contains(sql, "set_config('statement_timeout', '1500', true)"));
  CHECK(contains(sql, "set_config('lock_timeout', '750', true)"));
  CHECK_FALSE(contains(sql, "public."));
  CHECK(contains(sql, "current_setting('search_path')"));  // read for the reason ...
  CHECK_FALSE(contains(sql, "set_config('search_path'"));  // ... never set
  CHECK_FALSE(contains(sql, "SET search_path"));
  // The identity statement is last: when it fails, the facts are already in.
  CHECK(sql.rfind("pg_control_system") > sql.rfind("agents"));

  spec.data_guard = false;
  CHECK_FALSE(contains(probe_sql(spec, std::chrono::milliseconds(1500)), "agents"));
}

TEST_CASE("evaluate: a healthy database", "[unit][postgres]") {
  CheckSpec spec;
  spec.min_agents = 3;
  auto o = evaluate(healthy(), spec);
  CHECK(o.ok);
  CHECK(o.reason_code == "ok");
  CHECK(o.reason == "PostgreSQL 15.20, pgvector 0.8.0, 3 live agents");
  CHECK(o.facts.server_version.value() == "15.20 (Debian 15.20-0+deb12u1)");
  CHECK(o.facts.pgvector.value() == "0.8.0");
  CHECK(o.facts.agents == 3);
  CHECK(o.facts.system_identifier.value() == "7711993756597407694");
  CHECK(o.facts.database.value() == "letta");

  spec.identity = "7711993756597407694";
  o = evaluate(healthy(), spec);
  CHECK(o.ok);
  CHECK(o.reason == "PostgreSQL 15.20, pgvector 0.8.0, 3 live agents, identity as pinned");
}

TEST_CASE("evaluate: connection failures name the database and the server", "[unit][postgres]") {
  PgReply r;
  r.database = "letta";
  r.host = "::1";
  r.port = "5433";
  r.failure = PgError{"refused", "", "connection refused"};
  auto o = evaluate(r, {});
  CHECK_FALSE(o.ok);
  CHECK(o.reason_code == "refused");
  CHECK(o.reason == "connection refused (database letta at [::1]:5433)");
}

TEST_CASE("evaluate: pgvector missing", "[unit][postgres]") {
  auto r = healthy();
  r.database = "letta_novector";
  facts(r)[3] = std::nullopt;
  auto o = evaluate(r, {});
  CHECK(o.reason_code == "extension_missing");
  CHECK(o.reason == "pgvector extension `vector` is not installed in database letta_novector at 127.0.0.1:5432");
  CHECK(o.facts.agents == 3);  // what was learnt is still reported

  CheckSpec optional;
  optional.require_vector = false;
  o = evaluate(r, optional);
  CHECK(o.ok);
  CHECK(o.reason == "PostgreSQL 15.20, no pgvector, 3 live agents");
  CHECK(!o.facts.pgvector.has_value());
}

TEST_CASE("evaluate: Letta's schema not migrated", "[unit][postgres]") {
  auto r = healthy();
  r.database = "letta_unmigrated";
  facts(r)[4] = "f";
  facts(r)[5] = std::nullopt;
  auto o = evaluate(r, {});
  CHECK(o.reason_code == "schema_not_migrated");
  CHECK(o.reason ==
        "Letta schema not migrated: table agents not found (search_path letta) in database letta_unmigrated at "
        "127.0.0.1:5432");

  CheckSpec off;
  off.data_guard = false;
  r.statements[1].rows[0].resize(4);
  CHECK(evaluate(r, off).ok);
}

TEST_CASE("evaluate: too few live agents", "[unit][postgres]") {
  auto r = healthy();
  r.database = "letta_fresh";
  facts(r)[5] = "0";
  CheckSpec spec;
  CHECK(evaluate(r, spec).ok);  // min_agents 0: the count is only reported
  CHECK(evaluate(r, spec).reason == "PostgreSQL 15.20, pgvector 0.8.0, 0 live agents");
  spec.min_agents = 3;
  auto o = evaluate(r, spec);
  CHECK(o.reason_code == "too_few_agents");
  CHECK(o.reason ==
        "letta_fresh database at 127.0.0.1:5432 has 0 live agents, expected at least 3: is this a fresh Letta "
        "instance?");
  CHECK(o.facts.agents == 0);  // the letta_agents gauge still learns the count
}

TEST_CASE("evaluate: identity pin", "[unit][postgres]") {
  CheckSpec spec;
  spec.identity = "123";
  auto o = evaluate(healthy(), spec);
  CHECK(o.reason_code == "identity_mismatch");
  CHECK(o.reason ==
        "database identity changed at 127.0.0.1:5432: system identifier 7711993756597407694, pinned 123: this is a "
        "different PostgreSQL cluster (a new, empty one?)");
  CHECK(o.facts.system_identifier.value() == "7711993756597407694");
}

TEST_CASE("evaluate: pg_control_system() not allowed", "[unit][postgres]") {
  auto r = healthy();
  r.statements[2] = error("42501", "permission denied for function pg_control_system");
  auto o = evaluate(r, {});
  CHECK(o.ok);  // not pinned: only reported
  CHECK(o.reason ==
        "PostgreSQL 15.20, pgvector 0.8.0, 3 live agents; system identifier unreadable: permission denied for "
        "function pg_control_system (GRANT EXECUTE ON FUNCTION pg_control_system() TO letta)");
  CHECK(!o.facts.system_identifier.has_value());

  CheckSpec pinned;
  pinned.identity = "7711993756597407694";
  o = evaluate(r, pinned);
  CHECK(o.reason_code == "permission_denied");
  CHECK(contains(o.reason, "cannot check the pinned identity: permission denied for function pg_control_system"));
  CHECK(contains(o.reason, "GRANT EXECUTE ON FUNCTION pg_control_system() TO letta"));
  CHECK(contains(o.reason, "database letta at 127.0.0.1:5432"));
}

TEST_CASE("evaluate: the server's own errors on the probe query", "[unit][postgres]") {
  auto r = healthy();
  r.statements.resize(2);
  r.statements[1] = error("55P03", "canceling statement due to lock timeout");
  auto o = evaluate(r, {});
  CHECK(o.reason_code == "locked");
  CHECK(contains(o.reason, "canceling statement due to lock timeout (database letta at 127.0.0.1:5432)"));

  r.statements[1] = error("", "server closed the connection unexpectedly");
  CHECK(evaluate(r, {}).reason_code == "closed");

  r.statements.resize(1);
  CHECK(evaluate(r, {}).reason_code == "error");
}
