// The plain, JSON and quiet views of `lettagate wait`, and the formatting they share with the
// live table (wait_live_view.cpp).
#include "app/wait_view.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "app/health_documents.hpp"
#include "core/clock.hpp"

namespace lg::app {

using probes::Component;
using probes::HealthState;
using probes::Status;

namespace wait_format {

std::string latency(const Component& c) {
  if (c.last_check == 0) return "-";
  const double ms = c.last_latency_s * 1000.0;
  if (ms < 10) return fmt::format("{:.1f}ms", ms);
  if (ms < 1000) return fmt::format("{:.0f}ms", ms);
  return fmt::format("{:.2f}s", ms / 1000.0);
}

std::string elapsed(double seconds) {
  if (seconds < 0) seconds = 0;
  if (seconds < 1) return fmt::format("{:.0f}ms", seconds * 1000.0);
  if (seconds < 10) return fmt::format("{:.2f}s", seconds);
  if (seconds < 60) return fmt::format("{:.1f}s", seconds);
  const auto whole = static_cast<long>(seconds);
  if (whole < 3600) return fmt::format("{}m{:02}s", whole / 60, whole % 60);
  return fmt::format("{}h{:02}m", whole / 3600, (whole % 3600) / 60);
}

std::string printable(const std::string& text) {
  std::string out = text;
  for (char& ch : out) {
    const auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u == 0x7f) ch = ' ';
  }
  return out;
}

std::string fit(const std::string& line, size_t width) {
  std::string out;
  size_t visible = 0;
  bool cut = false;
  bool escapes = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const auto u = static_cast<unsigned char>(line[i]);
    if (u == 0x1b && i + 1 < line.size() && line[i + 1] == '[') {  // CSI: copy up to the final byte
      size_t j = i + 2;
      while (j < line.size() && !(line[j] >= 0x40 && line[j] <= 0x7e)) ++j;
      out.append(line, i, j - i + 1);
      escapes = true;
      i = j;
      continue;
    }
    const bool starts_char = (u & 0xC0) != 0x80;  // not a UTF-8 continuation byte
    if (starts_char) {
      if (visible == width) {
        cut = true;
        break;
      }
      ++visible;
    }
    out += line[i];
  }
  if (cut && escapes) out += "\x1b[0m";  // a colour cut in the middle must not leak into the next line
  return out;
}

std::string blocking(const HealthState& h, bool with_reasons) {
  std::string out;
  for (const auto& c : h.components()) {
    if (!c->required || c->status == Status::Up || c->status == Status::Degraded) continue;
    out += fmt::format("{}{} ({}{})", out.empty() ? "" : ", ", c->name, probes::to_string(c->status),
                       with_reasons ? ": " + printable(c->reason) : "");
  }
  return out;
}

std::string verdict(const HealthState& h, const WaitOutcome& o, core::Millis timeout, bool with_reasons) {
  if (o.ready) {
    std::string degraded;
    for (const auto& c : h.components()) {
      if (c->status == Status::Degraded || (!c->required && c->status != Status::Up))
        degraded += fmt::format("{}{} {}{}", degraded.empty() ? "" : ", ", c->name, probes::to_string(c->status),
                                c->required ? "" : " (optional)");
    }
    return fmt::format("ready after {}{}", elapsed(o.elapsed_s),
                       degraded.empty() ? "" : fmt::format(", degraded: {}", degraded));
  }
  const std::string why = o.interrupted ? fmt::format("interrupted after {}", elapsed(o.elapsed_s))
                                        : fmt::format("not ready after {} (timeout {})", elapsed(o.elapsed_s),
                                                      core::format_duration(timeout));
  const std::string waiting = blocking(h, with_reasons);
  return fmt::format("{}{}{}", o.interrupted ? "not ready: " : "", why,
                     waiting.empty() ? "" : ": waiting for " + waiting);
}

}  // namespace wait_format

namespace {

std::string name_column(const Component& c) { return c.required ? c.name : c.name + " (optional)"; }

// Plain output for pipes and CI logs: one line per state change, then a summary table and
// the verdict as the last line (what a CI log's tail shows).
class PlainView : public WaitView {
 public:
  explicit PlainView(FILE* out) : out_(out) {}

  void begin(const HealthState& h, core::Millis timeout) override {
    timeout_ = timeout;
    std::string names;
    for (const auto& c : h.components()) names += (names.empty() ? "" : ", ") + name_column(*c);
    std::fprintf(out_, "lettagate wait: waiting up to %s for %s\n", core::format_duration(timeout).c_str(),
                 names.empty() ? "nothing (every component is off)" : names.c_str());
    std::fflush(out_);
  }

  void transition(const Component& c, Status previous, double elapsed_s) override {
    std::fprintf(out_, "[%7s] %s: %s -> %s (%s): %s\n", wait_format::elapsed(elapsed_s).c_str(), c.name.c_str(),
                 probes::to_string(previous), probes::to_string(c.status), wait_format::latency(c).c_str(),
                 wait_format::printable(c.reason).c_str());
    std::fflush(out_);
  }

  void end(const HealthState& h, const WaitOutcome& o) override {
    size_t w = 9;  // "COMPONENT"
    for (const auto& c : h.components()) w = std::max(w, name_column(*c).size());
    std::string table = fmt::format("{:<{}}  {:<8}  {:>8}  {}\n", "COMPONENT", w, "STATE", "LATENCY", "REASON");
    for (const auto& c : h.components()) {
      table += fmt::format("{:<{}}  {:<8}  {:>8}  {}\n", name_column(*c), w, probes::to_string(c->status),
                           wait_format::latency(*c), wait_format::printable(c->reason));
    }
    std::fputs(table.c_str(), out_);
    std::fprintf(out_, "lettagate wait: %s\n", wait_format::verdict(h, o, timeout_).c_str());
    std::fflush(out_);
  }

 private:
  FILE* out_;
  core::Millis timeout_{0};
};

class JsonView : public WaitView {
 public:
  JsonView(FILE* out, core::Millis timeout) : out_(out), timeout_(timeout) {}

  void end(const HealthState& h, const WaitOutcome& o) override {
    nlohmann::json j;
    j["status"] = o.ready ? "ready" : "not_ready";
    j["degraded"] = o.ready && h.degraded();
    j["interrupted"] = o.interrupted;
    j["elapsed_ms"] = static_cast<int64_t>(o.elapsed_s * 1000.0);
    j["timeout_ms"] = static_cast<int64_t>(timeout_.count());
    j["components"] = nlohmann::json::object();
    const double now = core::wall_seconds();
    for (const auto& c : h.components()) {
      nlohmann::json cj{
          {"status", probes::to_string(c->status)},
          {"reason", c->reason},
          {"reason_code", c->reason_code},
          {"required", c->required},
          {"target", c->target},
          {"for_ms", static_cast<int64_t>((now - c->since) * 1000.0)},
          {"consecutive_successes", c->counts.ok},
          {"consecutive_failures", c->counts.fail},
      };
      add_facts_json(cj, *c);
      // null until the first result: 0 would read as "instant".
      cj["latency_ms"] = c->last_check == 0 ? nlohmann::json(nullptr) : nlohmann::json(c->last_latency_s * 1000.0);
      j["components"][c->name] = std::move(cj);
    }
    // A reason may quote bytes from a server that are not UTF-8: replace them, never throw.
    const std::string doc = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    std::fprintf(out_, "%s\n", doc.c_str());
    std::fflush(out_);
  }

 private:
  FILE* out_;
  core::Millis timeout_;
};

class QuietView : public WaitView {
 public:
  void end(const HealthState&, const WaitOutcome&) override {}
};

}  // namespace

std::unique_ptr<WaitView> make_plain_view(FILE* out) { return std::make_unique<PlainView>(out); }
std::unique_ptr<WaitView> make_json_view(FILE* out, core::Millis timeout) {
  return std::make_unique<JsonView>(out, timeout);
}
std::unique_ptr<WaitView> make_quiet_view() { return std::make_unique<QuietView>(); }

}  // namespace lg::app
