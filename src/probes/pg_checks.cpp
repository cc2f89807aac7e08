#include "probes/pg_checks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace lg::probes::pg {
namespace {

constexpr std::string_view kWhitespace = " \t\r\n";

std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(kWhitespace);
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(kWhitespace);
  return s.substr(b, e - b + 1);
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool is_sqlstate(std::string_view s) {
  return s.size() == 5 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
           return std::isdigit(c) || std::isupper(c);
         });
}

// The facts statement 1 of probe_sql returns, by column.
enum Column { kVersion, kDatabase, kSearchPath, kPgvector, kHasAgents, kAgents };

const std::optional<std::string>* cell(const PgStatement& s, size_t column) {
  if (s.rows.empty() || s.rows[0].size() <= column) return nullptr;
  return &s.rows[0][column];
}

// "15.20 (Debian 15.20-0+deb12u1)" -> "15.20"
std::string short_version(const std::string& v) { return v.substr(0, v.find(' ')); }

struct Context {
  const PgReply& reply;
  const CheckSpec& spec;
  std::string where;    // "database letta at 127.0.0.1:5432"
  std::string address;  // "127.0.0.1:5432"
};

Outcome fail(Outcome facts, std::string code, std::string why) {
  Outcome o = Outcome::failure(std::move(code), std::move(why));
  o.facts = std::move(facts.facts);
  return o;
}

Outcome statement_failure(const Context& c, const PgError& e) {
  std::string why = fmt::format("{} ({})", e.message, c.where);
  if (e.code == "locked") why += ": is a migration holding a lock?";
  return Outcome::failure(e.code.empty() ? "error" : e.code, std::move(why));
}

// Statement 2: the system identifier. Fills info; returns a failure when the pin is not met.
std::optional<Outcome> check_identity(const Context& c, Outcome& facts, std::string& note) {
  const auto& st = c.reply.statements;
  if (st.size() < 3) {
    if (c.spec.identity.empty()) return std::nullopt;
    return fail(facts, "error", fmt::format("no answer to the identity query ({})", c.where));
  }
  const PgStatement& id = st[2];
  if (!id.ok) {
    const std::string hint = id.error.sqlstate == "42501"
        ? fmt::format(" (GRANT EXECUTE ON FUNCTION pg_control_system() TO {})", c.reply.user)
        : "";
    if (c.spec.identity.empty()) {
      note = fmt::format("; system identifier unreadable: {}{}", id.error.message, hint);
      return std::nullopt;
    }
    return fail(facts, id.error.code.empty() ? "error" : id.error.code,
                fmt::format("cannot check the pinned identity: {}{} ({})", id.error.message, hint, c.where));
  }
  const auto* v = cell(id, 0);
  if (!v || !*v) return fail(facts, "error", fmt::format("pg_control_system() returned no row ({})", c.where));
  facts.facts.system_identifier = **v;
  if (!c.spec.identity.empty() && **v != c.spec.identity) {
    return fail(facts, "identity_mismatch",
                fmt::format("database identity changed at {}: system identifier {}, pinned {}: this is a "
                            "different PostgreSQL cluster (a new, empty one?)",
                            c.address, **v, c.spec.identity));
  }
  return std::nullopt;
}

}  // namespace

std::string probe_sql(const CheckSpec& spec, std::chrono::milliseconds server_timeout) {
  // A lock wait starts after the statement did, so its limit is shorter: a locked table is
  // reported as such rather than as a plain statement timeout.
  const long long ms = std::max<long long>(server_timeout.count(), 2);
  std::string sql = fmt::format(
      "SELECT set_config('statement_timeout', '{}', true), set_config('lock_timeout', '{}', true);\n"
      "SELECT current_setting('server_version'), current_database(), current_setting('search_path'),\n"
      "  (SELECT extversion FROM pg_extension WHERE extname = 'vector')",
      ms, ms / 2);
  if (spec.data_guard) {
    sql +=
        ",\n  to_regclass('agents') IS NOT NULL,\n"
        "  CASE WHEN to_regclass('agents') IS NULL THEN NULL ELSE substring(query_to_xml(\n"
        "    'SELECT count(*) AS n FROM agents WHERE NOT is_deleted', false, true, '')::text\n"
        "    FROM '<n>([0-9]+)</n>') END";
  }
  sql += ";\nSELECT system_identifier::text FROM pg_control_system()";
  return sql;
}

PgError parse_libpq_error(std::string_view text) {
  std::string_view t = trim(text);
  // Several hosts (or addresses) tried: libpq lists one error per attempt; the last counts.
  if (auto at = t.rfind("connection to server "); at != std::string_view::npos) {
    t = t.substr(at);
    if (auto f = t.find(" failed: "); f != std::string_view::npos) t = t.substr(f + 9);
  }
  t = trim(t.substr(0, t.find('\n')));
  // Severity ("FATAL:  ") and, with verbosity VERBOSE, the SQLSTATE ("28P01: ").
  if (auto colon = t.find(":  "); colon != std::string_view::npos &&
      std::all_of(t.begin(), t.begin() + static_cast<long>(colon), [](unsigned char c) { return std::isupper(c); })) {
    t = trim(t.substr(colon + 3));
  }
  PgError e;
  if (t.size() > 7 && is_sqlstate(t.substr(0, 5)) && t[5] == ':' && t[6] == ' ') {
    e.sqlstate = std::string(t.substr(0, 5));
    t = trim(t.substr(6));
  }
  e.message = std::string(t);
  // "Connection refused" -> "connection refused"; "SSL error" stays.
  if (e.message.size() > 1 && std::isupper(static_cast<unsigned char>(e.message[0])) &&
      std::islower(static_cast<unsigned char>(e.message[1]))) {
    e.message[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(e.message[0])));
  }
  if (e.message.empty()) e.message = "unknown error";
  e.code = reason_code_for(e.sqlstate, e.message);
  return e;
}

std::string reason_code_for(std::string_view sqlstate, std::string_view message) {
  static constexpr std::pair<std::string_view, std::string_view> kStates[] = {
      {"28P01", "auth_failed"},          // invalid_password
      {"28000", "auth_failed"},          // invalid_authorization_specification (no pg_hba entry)
      {"3D000", "database_missing"},     // invalid_catalog_name
      {"53300", "too_many_connections"},
      {"57P03", "starting"},             // cannot_connect_now: starting up, shutting down, recovery
      {"57P01", "shutting_down"},        // admin_shutdown: the server ended our session
      {"57P02", "shutting_down"},        // crash_shutdown
      {"57P05", "idle_timeout"},         // idle_session_timeout ended a kept session
      {"42501", "permission_denied"},
      {"57014", "timeout"},              // query_canceled: our statement_timeout
      {"55P03", "locked"},               // lock_not_available: our lock_timeout
      {"42P01", "schema_mismatch"},      // undefined_table
      {"42703", "schema_mismatch"},      // undefined_column: agents without is_deleted
  };
  if (!sqlstate.empty()) {
    for (const auto& [state, code] : kStates)
      if (state == sqlstate) return std::string(code);
    return "error";
  }
  static constexpr std::pair<std::string_view, std::string_view> kTexts[] = {
      {"connection refused", "refused"},
      {"timeout expired", "timeout"},
      {"could not translate host name", "dns"},
      {"password authentication failed", "auth_failed"},
      {"no password supplied", "auth_failed"},
      {"no route to host", "unreachable"},
      {"network is unreachable", "unreachable"},
      {"connection reset", "reset"},
      {"server closed the connection", "closed"},
      {"eof detected", "closed"},
      {"could not receive data", "closed"},
      {"no connection to the server", "closed"},
      {"too many clients", "too_many_connections"},
      {"remaining connection slots", "too_many_connections"},
      {"the database system is", "starting"},
      {"ssl", "tls"},
  };
  const std::string m = lower(message);
  for (const auto& [text, code] : kTexts)
    if (m.find(text) != std::string::npos) return std::string(code);
  if (m.find("database") != std::string::npos && m.find("does not exist") != std::string::npos) return "database_missing";
  return "error";
}

std::string scrub(std::string text, const std::string& secret, std::initializer_list<std::string_view> public_words) {
  if (secret.empty()) return text;
  for (auto w : public_words)
    if (w == secret) return text;
  for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) text.replace(at, secret.size(), "***");
  return text;
}

std::string server_address(const std::string& host, const std::string& port) {
  if (host.empty()) return "local socket, port " + port;
  if (host[0] == '/' || host[0] == '@') return fmt::format("{}/.s.PGSQL.{}", host, port);
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

Outcome evaluate(const PgReply& reply, const CheckSpec& spec) {
  Context c{reply, spec, "", server_address(reply.host, reply.port)};
  c.where = fmt::format("database {} at {}", reply.database, c.address);
  if (reply.failure) {
    return Outcome::failure(reply.failure->code.empty() ? "error" : reply.failure->code,
                            fmt::format("{} ({})", reply.failure->message, c.where));
  }
  const auto& st = reply.statements;
  for (size_t i = 0; i < 2; ++i) {
    if (i >= st.size()) return Outcome::failure("error", fmt::format("incomplete answer to the probe query ({})", c.where));
    if (!st[i].ok) return statement_failure(c, st[i].error);
  }
  const PgStatement& f = st[1];
  const auto* version = cell(f, kVersion);
  if (!version || !*version) return Outcome::failure("error", fmt::format("no server version in the answer ({})", c.where));

  Outcome facts = Outcome::success();
  facts.facts.server_version = **version;
  facts.facts.database = reply.database;
  facts.facts.address = c.address;  // host:port as libpq reached it (no credentials): named by the letta rule
  const auto* pgvector = cell(f, kPgvector);
  const bool has_vector = pgvector && *pgvector;
  if (has_vector) facts.facts.pgvector = **pgvector;
  const auto* has_agents = cell(f, kHasAgents);
  const auto* agents = cell(f, kAgents);
  if (spec.data_guard && agents && *agents) {
    long long n = 0;
    const std::string& text = **agents;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec == std::errc{} && end == text.data() + text.size()) facts.facts.agents = n;
  }

  std::string note;
  if (auto o = check_identity(c, facts, note)) return std::move(*o);

  if (spec.data_guard) {
    if (!has_agents || !*has_agents) return fail(facts, "error", fmt::format("no data guard answer ({})", c.where));
    if (**has_agents != "t") {
      const auto* path = cell(f, kSearchPath);
      return fail(facts, "schema_not_migrated",
                  fmt::format("Letta schema not migrated: table agents not found (search_path {}) in {}",
                              path && *path ? **path : "?", c.where));
    }
  }
  if (spec.require_vector && !has_vector) {
    return fail(facts, "extension_missing",
                fmt::format("pgvector extension `vector` is not installed in {}", c.where));
  }
  long long live = -1;
  if (spec.data_guard) {
    if (!agents || !*agents) return fail(facts, "error", fmt::format("could not count the agents ({})", c.where));
    if (!facts.facts.agents)
      return fail(facts, "error", fmt::format("agent count '{}' is not a number ({})", **agents, c.where));
    live = *facts.facts.agents;
    if (live < spec.min_agents) {
      return fail(facts, "too_few_agents",
                  fmt::format("{} database at {} has {} live agents, expected at least {}: is this a fresh "
                              "Letta instance?",
                              reply.database, c.address, live, spec.min_agents));
    }
  }

  std::string why = "PostgreSQL " + short_version(**version);
  why += has_vector ? ", pgvector " + **pgvector : ", no pgvector";
  if (live >= 0) why += fmt::format(", {} live agent{}", live, live == 1 ? "" : "s");
  if (!spec.identity.empty()) why += ", identity as pinned";
  why += note;
  facts.reason = std::move(why);
  return facts;
}

}  // namespace lg::probes::pg
