#pragma once
// What a probe learnt on the way (versions, roles, counts, addresses): typed, so a reader never
// parses a number out of text inside a libuv callback. The field list below is the one place
// that names each fact; /status, `wait --json` and the status page render them from it
// (facts_json), with the same names and text as before the facts were typed.
#include <cstddef>
#include <optional>
#include <string>
#include <tuple>

#include <nlohmann/json_fwd.hpp>

namespace lg::probes {

// Letta's GET /v1/agents/count where the route is missing (an older Letta): rendered "unknown".
inline constexpr long long kUnknownCount = -1;

struct Facts {
  std::optional<std::string> version;            // Letta's /v1/health/ version, or Redis's redis_version
  std::optional<std::string> letta_version;      // Letta's version as seen through nginx
  std::optional<std::string> role;               // Redis INFO role: master / slave
  std::optional<long long> agents;               // postgres: live agents in Letta's agents table
  std::optional<long long> api_agents;           // Letta's own count (kUnknownCount: no such route)
  std::optional<std::string> pgvector;           // installed `vector` extension version
  std::optional<std::string> server_version;     // PostgreSQL server_version
  std::optional<std::string> database;           // the database connected to
  std::optional<std::string> address;            // host:port libpq reached (no credentials)
  std::optional<std::string> system_identifier;  // pg_control_system()
  std::optional<double> first_event_ms;          // SSE: request to first complete event
  std::optional<std::string> x_accel_buffering;  // SSE: the X-Accel-Buffering header seen

  bool empty() const;
  // Takes each fact `other` has and this one lacks (an earlier check's facts kept alongside).
  void fill_from(const Facts& other);
};

template <class T>
struct FactField {
  const char* name;  // the key in /status's "info"
  std::optional<T> Facts::*member;
};

inline constexpr auto kFactFields = std::make_tuple(
    FactField<std::string>{"version", &Facts::version}, FactField<std::string>{"letta_version", &Facts::letta_version},
    FactField<std::string>{"role", &Facts::role}, FactField<long long>{"agents", &Facts::agents},
    FactField<long long>{"api_agents", &Facts::api_agents}, FactField<std::string>{"pgvector", &Facts::pgvector},
    FactField<std::string>{"server_version", &Facts::server_version},
    FactField<std::string>{"database", &Facts::database}, FactField<std::string>{"address", &Facts::address},
    FactField<std::string>{"system_identifier", &Facts::system_identifier},
    FactField<double>{"first_event_ms", &Facts::first_event_ms},
    FactField<std::string>{"x_accel_buffering", &Facts::x_accel_buffering});

inline constexpr size_t kFactCount = std::tuple_size_v<decltype(kFactFields)>;

// Calls f(field, index) for each fact field, in the list's order.
template <class F>
void for_each_fact_field(F&& f) {
  size_t i = 0;
  std::apply([&](const auto&... field) { (f(field, i++), ...); }, kFactFields);
}

// The text /status shows for a fact: strings as they are, counts in decimal ("unknown" for
// kUnknownCount), milliseconds rounded to whole ones.
std::string fact_text(const std::string& v);
std::string fact_text(long long v);
std::string fact_text(double v);

// {"version": "0.16.7", "agents": "3", ...}: the facts that are set, as text.
nlohmann::json facts_json(const Facts& facts);

}  // namespace lg::probes
