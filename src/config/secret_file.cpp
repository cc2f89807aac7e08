#include "config/secret_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lg::config {
namespace {

constexpr size_t kMaxBytes = 64 * 1024;  // a DSN or a token; more is the wrong file

bool fail(std::string* why, std::string msg) {
  if (why) *why = std::move(msg);
  return false;
}

// Reads at most kMaxBytes + 1 bytes, so that a larger file is told apart from one that fits. The
// descriptor is non-blocking: a pipe (`--postgres-dsn-file <(pass show db)`) gets a second to
// deliver, and a terminal or a FIFO nobody writes to cannot hang the start.
bool read_all(int fd, const std::string& path, std::string& out, std::string* why) {
  char buf[4096];
  while (out.size() <= kMaxBytes) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) return true;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 1000) == 0) return fail(why, fmt::format("nothing to read from '{}' within 1s", path));
      continue;
    }
    if (n < 0) return fail(why, fmt::format("cannot read '{}': {}", path, std::strerror(errno)));
    out.append(buf, static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

std::optional<std::string> read_secret_file(const std::string& path, std::string* why) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    fail(why, fmt::format("cannot read '{}': {}", path, std::strerror(errno)));
    return std::nullopt;
  }
  struct stat st {};
  std::string content;
  bool ok = true;
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) ok = fail(why, fmt::format("'{}' is a directory, not a file", path));
  if (ok) ok = read_all(fd, path, content, why);
  ::close(fd);
  if (!ok) return std::nullopt;
  if (content.size() > kMaxBytes) {
    fail(why, fmt::format("'{}' is larger than {} KiB: not a secret's file", path, kMaxBytes / 1024));
    return std::nullopt;
  }
  if (!content.empty() && content.back() == '\n') content.pop_back();
  if (!content.empty() && content.back() == '\r') content.pop_back();
  if (content.empty()) {
    fail(why, fmt::format("'{}' is empty (to turn the component off, set the setting itself to off)", path));
    return std::nullopt;
  }
  if (content.find('\0') != std::string::npos) {
    fail(why, fmt::format("'{}' holds a NUL byte: not a text secret", path));
    return std::nullopt;
  }
  return content;
}

}  // namespace lg::config
