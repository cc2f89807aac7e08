#pragma once
// Logging: spdlog to stderr, as text or as JSON lines. Each part of lettagate logs through a
// logger named for it ("postgres", "proxy", "http"), so every line names its component.
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace lg::log {

enum class Format { Text, Json };

// Configures the default sink, format and level; call once at start (and again in tests).
void setup(spdlog::level::level_enum level, Format format);

// The logger for a component; created on first use with the configured sink and format.
std::shared_ptr<spdlog::logger> get(const std::string& component);

}  // namespace lg::log
