#include "probes/postgres_dsn.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <string_view>

#include "config/redact.hpp"
#include "config/value_parsers.hpp"
#include "probes/libpq_loader.hpp"

namespace lg::probes {
namespace {

// A typo in a port would pass the start and leave Postgres down for ever.
bool ports_valid(const PQconninfoOption* opts) {
  for (const PQconninfoOption* o = opts; o->keyword; ++o) {
    if (std::string_view(o->keyword) != "port" || !o->val) continue;
    std::string_view ports(o->val);
    while (true) {
      const auto comma = ports.find(',');
      const std::string one(ports.substr(0, comma));
      if (!one.empty() && !config::parse_int(one, 1, 65535)) return false;
      if (comma == std::string_view::npos) break;
      ports.remove_prefix(comma + 1);
    }
  }
  return true;
}

}  // namespace

std::optional<std::string> check_postgres_dsn(const std::string& dsn) {
  std::string load_error;
  if (!libpq::load(&load_error)) return fmt::format("the postgres probe needs libpq (libpq.so.5): {}", load_error);
  // libpq's own parser decides what a valid connection string is.
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(dsn.c_str(), &err);
  if (!opts) {
    std::string msg = err ? err : "unparsable";
    if (err) PQfreemem(err);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return fmt::format("'{}': {}", config::redact_dsn(dsn), msg);
  }
  const bool ports_ok = ports_valid(opts);
  PQconninfoFree(opts);
  // The value is not shown: with an unencoded '/' in a URL's password, libpq reads the rest
  // of the password as the port.
  if (!ports_ok)
    return fmt::format(
        "'{}': the port is not a number from 1 to 65535 (in a URL, percent-encode '/', '?' and "
        "'@' in a password: %2F %3F %40)",
        config::redact_dsn(dsn));
  return std::nullopt;
}

}  // namespace lg::probes
