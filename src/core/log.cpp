#include "core/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <map>
#include <mutex>

#include "core/json_escape.hpp"

namespace lg::core::log {
namespace {

// %* in the JSON pattern: the message, escaped as a JSON string body.
class JsonMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string escaped = json_escape(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(escaped.data(), escaped.data() + escaped.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

struct Settings {
  spdlog::level::level_enum level = spdlog::level::info;
  Format format = Format::Text;
  spdlog::sink_ptr sink;
  std::map<std::string, spdlog::level::level_enum, std::less<>> component_levels;  // set_component_level
};

Settings& settings() {
  static Settings s;  // configuration, set once at start; the loop is single-threaded
  return s;
}

std::unique_ptr<spdlog::formatter> make_formatter(Format format) {
  auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (format == Format::Json) {
    f->add_flag<JsonMessageFlag>('*').set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","component":"%n","msg":"%*"})");
  } else {
    f->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %-5l [%n] %v");
  }
  return f;
}

void apply(const std::shared_ptr<spdlog::logger>& logger) {
  const auto& s = settings();
  const auto own = s.component_levels.find(logger->name());
  logger->set_level(own == s.component_levels.end() ? s.level : own->second);
  logger->set_formatter(make_formatter(settings().format));
  logger->flush_on(spdlog::level::info);
}

spdlog::level::level_enum to_spdlog(Level level) { return static_cast<spdlog::level::level_enum>(level); }

}  // namespace

Level level_from_string(std::string_view name) {
  return static_cast<Level>(spdlog::level::from_str(std::string(name)));
}

void setup(Level level, Format format) {
  auto& s = settings();
  s.level = to_spdlog(level);
  s.format = format;
  if (!s.sink) s.sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { apply(l); });
}

void set_component_level(const std::string& component, Level level) {
  settings().component_levels[component] = to_spdlog(level);
  if (auto existing = spdlog::get(component)) apply(existing);
}

bool Logger::enabled(Level level) const { return impl_->should_log(to_spdlog(level)); }

void Logger::write(Level level, std::string_view line) const { impl_->log(to_spdlog(level), line); }

Logger get(const std::string& component) {
  if (auto existing = spdlog::get(component)) return Logger(existing);
  auto& s = settings();
  if (!s.sink) s.sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>(component, s.sink);
  apply(logger);
  spdlog::register_logger(logger);
  return Logger(logger);
}

}  // namespace lg::core::log
