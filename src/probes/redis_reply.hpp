#pragma once
// The pure half of the Redis probe: what the probe asks (RedisStep), how it reads INFO, and how
// a reply or a connection error becomes an Outcome. No sockets, no hiredis: unit-tested alone.
#include <string>
#include <string_view>

#include "probes/outcome.hpp"

namespace lg::probes {

// The commands one attempt sends, in this order (AUTH and SELECT only when configured).
enum class RedisStep { Auth, Select, Ping, Info };
const char* to_string(RedisStep step);

// What INFO told us. Fields stay empty when INFO did not say.
struct RedisInfo {
  std::string role;             // role: master / slave
  std::string version;          // redis_version:
  bool loading = false;         // loading:1
  std::string loaded_percent;   // loading_loaded_perc: (while loading)
  std::string eta_seconds;      // loading_eta_seconds: (while loading)
  std::string master_host;      // master_host: (a replica's master)
  std::string master_port;      // master_port:
};

// Parses INFO's "key:value\r\n" lines; sections ("# Server") and unknown keys are skipped.
RedisInfo parse_info(std::string_view text);

// An error reply ("-WRONGPASS ...", "-NOAUTH ...", "-LOADING ...") to `step` as an Outcome:
// auth_failed, auth_required, loading or error. `password_set`: whether lettagate sent AUTH.
Outcome classify_error_reply(RedisStep step, std::string_view error, bool password_set);

// A refused, reset or otherwise failed connect to `address` (host:port): refused or error.
// `sys_errno` is errno as hiredis left it (0 if unknown), `text` hiredis's errstr.
Outcome classify_connect_error(const std::string& address, int sys_errno, std::string_view text);

// "Redis is loading its dataset into memory" with INFO's progress when known (info may be null).
Outcome loading_outcome(const RedisInfo* info);

// "PONG, role master, redis 7.0.15" (a replica: "role slave of HOST:PORT"), with role and version in Outcome::facts.
Outcome success_outcome(const RedisInfo& info);

// A replica (role slave) as Letta would use it: down, reason_code `replica`, unless
// --redis-allow-replica. Letta writes to Redis (stream resumption, background runs); a replica
// refuses writes (READONLY) or, when replica-read-only is off, keeps them from the master.
Outcome judge_replica(Outcome o, bool allow_replica);

// Copies role and version into o.facts (what letta_redis_info and /status show).
void add_info(Outcome& o, const RedisInfo& info);

}  // namespace lg::probes
