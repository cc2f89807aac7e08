// What the Redis and Postgres probes read from their servers: Redis INFO text and error
// replies, libpq's error text, and a Postgres reply (statement rows built from the input)
// judged by the data guard.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "probes/pg_checks.hpp"
#include "probes/redis_reply.hpp"

namespace {

// Splits the input at '\x1f' into fields; '\x1e' marks a NULL.
std::vector<std::optional<std::string>> fields(std::string_view text) {
  std::vector<std::optional<std::string>> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\x1f', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view f = text.substr(start, end - start);
    if (f == "\x1e") out.emplace_back(std::nullopt);
    else out.emplace_back(std::string(f));
    start = end + 1;
  }
  return out;
}

lg::probes::pg::PgReply reply_from(std::string_view text, uint8_t shape) {
  lg::probes::pg::PgReply reply;
  reply.connected = true;
  reply.database = "letta";
  reply.host = "127.0.0.1";
  reply.port = "5432";
  reply.user = "letta";
  auto values = fields(text);
  // The query string has three statements; `shape` says how many came back and whether the
  // last one failed, the input gives their rows.
  const size_t statements = shape % 4;
  size_t next = 0;
  for (size_t i = 0; i < statements; ++i) {
    lg::probes::pg::PgStatement st;
    if (i + 1 == statements && (shape & 4)) {
      st.error = lg::probes::pg::parse_libpq_error(text);
    } else {
      st.ok = true;
      lg::probes::pg::PgRow row;
      static const size_t kColumns[] = {2, 6, 1};  // as probe_sql's statements answer
      for (size_t c = 0; c < kColumns[i] && next < values.size(); ++c) row.push_back(values[next++]);
      if (!(shape & 8)) st.rows.push_back(std::move(row));
    }
    reply.statements.push_back(std::move(st));
  }
  return reply;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  auto info = lg::probes::parse_info(text);
  (void)lg::probes::success_outcome(info);
  (void)lg::probes::loading_outcome(&info);
  for (auto step : {lg::probes::RedisStep::Auth, lg::probes::RedisStep::Ping, lg::probes::RedisStep::Info})
    (void)lg::probes::classify_error_reply(step, text, data[0] & 1);
  (void)lg::probes::classify_connect_error("127.0.0.1:6379", data[0], text);

  auto err = lg::probes::pg::parse_libpq_error(text);
  (void)lg::probes::pg::reason_code_for(err.sqlstate, err.message);
  (void)lg::probes::pg::scrub(std::string(text), "s3cret", {"letta"});
  lg::probes::pg::CheckSpec spec;
  spec.min_agents = data[0] % 5;
  spec.identity = (data[0] & 16) ? "7312345678901234567" : "";
  (void)lg::probes::pg::evaluate(reply_from(text, data[0]), spec);
  return 0;
}
