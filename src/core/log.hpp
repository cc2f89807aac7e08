#pragma once
// Logging: spdlog to stderr, as text or as JSON lines. Each part of lettagate logs through a
// logger named for it ("postgres", "proxy", "http"), so every line names its component.
//
// spdlog stays inside log.cpp: callers format with fmt (checked at compile time) and hand over
// a finished line. Instantiating spdlog's templates in every file that logs cost about five
// seconds of compile time per file; formatting is skipped when the level is off.
#include <fmt/format.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace spdlog {
class logger;
}

namespace lg::core::log {

// The same order and names as spdlog's levels.
enum class Level { Trace, Debug, Info, Warn, Error, Critical, Off };
enum class Format { Text, Json };

// "trace" .. "critical", "off"; anything else is Off (config validates the names first).
Level level_from_string(std::string_view name);

// Configures the default sink, format and level; call once at start (and again in tests).
void setup(Level level, Format format);

// A component's logger; cheap to copy.
class Logger {
 public:
  explicit Logger(std::shared_ptr<spdlog::logger> impl) : impl_(std::move(impl)) {}

  bool enabled(Level level) const;
  void write(Level level, std::string_view line) const;

  template <typename... Args>
  void log(Level level, fmt::format_string<Args...> format, Args&&... args) const {
    if (enabled(level)) write(level, fmt::format(format, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void debug(fmt::format_string<Args...> format, Args&&... args) const {
    log(Level::Debug, format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void info(fmt::format_string<Args...> format, Args&&... args) const {
    log(Level::Info, format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void warn(fmt::format_string<Args...> format, Args&&... args) const {
    log(Level::Warn, format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void error(fmt::format_string<Args...> format, Args&&... args) const {
    log(Level::Error, format, std::forward<Args>(args)...);
  }

 private:
  std::shared_ptr<spdlog::logger> impl_;
};

// One component's level above (or below) the configured one, kept across setup(): `wait` prints
// each probe's state changes itself and lifts the probes' loggers so they are not said twice.
void set_component_level(const std::string& component, Level level);

// The logger for a component; created on first use with the configured sink and format.
Logger get(const std::string& component);

}  // namespace lg::core::log
