#include "probes/redis_reply.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>

namespace lg::probes {
namespace {

constexpr size_t kMaxServerText = 200;  // a server's error text is quoted, not trusted to be short

std::string clip(std::string_view s) {
  std::string out(s.substr(0, std::min(s.size(), kMaxServerText)));
  while (!out.empty() && (out.back() == '\r' || out.back() == '\n' || out.back() == ' ')) out.pop_back();
  if (s.size() > kMaxServerText) out += "...";
  return out;
}

std::string first_word(std::string_view s) {
  auto end = s.find(' ');
  return std::string(s.substr(0, end));
}

bool contains_nocase(std::string_view haystack, std::string_view needle) {
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
  return it != haystack.end();
}

}  // namespace

const char* to_string(RedisStep step) {
  switch (step) {
    case RedisStep::Auth: return "AUTH";
    case RedisStep::Select: return "SELECT";
    case RedisStep::Ping: return "PING";
    case RedisStep::Info: return "INFO";
  }
  return "?";
}

RedisInfo parse_info(std::string_view text) {
  RedisInfo info;
  while (!text.empty()) {
    auto eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    auto key = line.substr(0, colon);
    auto value = std::string(line.substr(colon + 1));
    if (key == "role") info.role = value;
    else if (key == "redis_version") info.version = value;
    else if (key == "loading") info.loading = value == "1";
    else if (key == "loading_loaded_perc") info.loaded_percent = value;
    else if (key == "loading_eta_seconds") info.eta_seconds = value;
    else if (key == "master_host") info.master_host = value;
    else if (key == "master_port") info.master_port = value;
  }
  return info;
}

Outcome classify_error_reply(RedisStep step, std::string_view error, bool password_set) {
  const std::string code = first_word(error);
  const std::string msg = clip(error);
  if (code == "LOADING") return loading_outcome(nullptr);
  if (code == "NOAUTH") {
    if (!password_set) {
      return Outcome::failure("auth_required",
                              fmt::format("Redis requires a password ({}): set --redis-password or put it in "
                                          "--redis-url",
                                          msg));
    }
    return Outcome::failure("auth_failed", fmt::format("Redis still asks for a password after AUTH ({})", msg));
  }
  if (step == RedisStep::Auth || code == "WRONGPASS") {
    // Redis 6+: "AUTH <password> called without any password configured ..."; older: "Client
    // sent AUTH, but no password is set". Letta would fail the same way: worth saying plainly.
    if (contains_nocase(error, "without any password configured") || contains_nocase(error, "no password is set")) {
      return Outcome::failure("auth_failed",
                              fmt::format("Redis has no password set, but lettagate sends one (AUTH: {}): remove it "
                                          "from --redis-url / --redis-password",
                                          msg));
    }
    return Outcome::failure("auth_failed", fmt::format("Redis rejected the password (AUTH: {})", msg));
  }
  return Outcome::failure("error", fmt::format("{} failed: {}", to_string(step), msg));
}

Outcome classify_connect_error(const std::string& address, int sys_errno, std::string_view text) {
  if (sys_errno == ECONNREFUSED || contains_nocase(text, "refused")) {
    return Outcome::failure("refused", fmt::format("connection refused by {}", address));
  }
  if (sys_errno == ETIMEDOUT || contains_nocase(text, "timed out")) {
    return Outcome::failure("timeout", fmt::format("connecting to {} timed out", address));
  }
  return Outcome::failure("error", fmt::format("cannot connect to {}: {}", address,
                                               text.empty() ? std::string("unknown error") : clip(text)));
}

Outcome loading_outcome(const RedisInfo* info) {
  std::string why = "Redis is loading its dataset into memory";
  if (info && !info->loaded_percent.empty()) {
    why += fmt::format(" ({}% loaded", info->loaded_percent);
    if (!info->eta_seconds.empty()) why += fmt::format(", about {} s left", info->eta_seconds);
    why += ")";
  }
  auto o = Outcome::failure("loading", std::move(why));
  if (info) add_info(o, *info);
  return o;
}

Outcome success_outcome(const RedisInfo& info) {
  std::string role = info.role.empty() ? "unknown" : info.role;
  if (!info.master_host.empty()) role += fmt::format(" of {}:{}", info.master_host, info.master_port);
  auto o = Outcome::success(fmt::format("PONG, role {}, redis {}", role, info.version.empty() ? "unknown" : info.version));
  add_info(o, info);
  return o;
}

Outcome judge_replica(Outcome o, bool allow_replica) {
  if (!o.ok || allow_replica || o.facts.role != "slave") return o;
  Outcome f = Outcome::failure("replica", fmt::format("Redis is a read-only replica ({}): Letta writes to Redis; point "
                                                      "LETTA_REDIS_HOST and --redis-url at the master, or set "
                                                      "--redis-allow-replica",
                                                      o.reason));
  f.facts = std::move(o.facts);
  return f;
}

void add_info(Outcome& o, const RedisInfo& info) {
  if (!info.role.empty()) o.facts.role = info.role;
  if (!info.version.empty()) o.facts.version = info.version;
}

}  // namespace lg::probes
