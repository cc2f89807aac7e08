#pragma once
// The *_FILE convention of Docker secrets and the official postgres image: a setting's value
// read from a file (/run/secrets/NAME), so a password is in neither the command line (`ps`) nor
// the environment (`docker inspect`, /proc/PID/environ).
#include <optional>
#include <string>

namespace lg::config {

// The file's content without one trailing newline ("\n" or "\r\n"). On failure returns nullopt
// and sets `why`, which names the path and never the content. An empty file is an error: an
// empty value turns a probe off, and a secret that did not arrive must not do that silently.
std::optional<std::string> read_secret_file(const std::string& path, std::string* why);

}  // namespace lg::config
