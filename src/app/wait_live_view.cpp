// The live table of `lettagate wait` on a terminal: a header line and one row per component,
// redrawn in place (cursor up N lines, clear each line, write it again). Every line is cut to
// the terminal width so none wraps, which would make "up N lines" land in the wrong place. The
// last table is never redrawn, so it is written whole (the screen below cleared first): what a
// newcomer reads once the wait is over is every reason in full, and a verdict naming why.
#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>

#include "app/wait_view.hpp"
#include "core/clock.hpp"

namespace lg::app {
namespace {

using probes::Component;
using probes::HealthState;
using probes::Status;

constexpr const char* kReset = "\x1b[0m";

const char* colour_of(Status s) {
  switch (s) {
    case Status::Up: return "\x1b[32m";        // green
    case Status::Down: return "\x1b[31m";      // red
    case Status::Degraded: return "\x1b[33m";  // yellow
    case Status::Unknown: return "\x1b[90m";   // grey
  }
  return "";
}

size_t terminal_width(FILE* out) {
  winsize ws{};
  if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

class LiveView : public WaitView {
 public:
  LiveView(FILE* out, bool color) : out_(out), color_(color) {}

  void begin(const HealthState& h, core::Millis timeout) override {
    timeout_ = timeout;
    draw(h, fmt::format("waiting up to {}", core::format_duration(timeout)));
  }

  void transition(const Component&, Status, double) override { dirty_ = true; }

  void tick(const HealthState& h, double elapsed_s) override {
    // Redraw at most every 100 ms (the elapsed times move), at once after a state change.
    if (!dirty_ && elapsed_s - last_draw_s_ < 0.1) return;
    last_draw_s_ = elapsed_s;
    dirty_ = false;
    draw(h, fmt::format("waiting {} of {}", wait_format::elapsed(elapsed_s), core::format_duration(timeout_)));
  }

  void end(const HealthState& h, const WaitOutcome& o) override {
    draw(h, wait_format::verdict(h, o, timeout_), o.ready ? Status::Up : Status::Down, true);
    // The terminal may have echoed "^C" on the line below the table: clear it.
    std::fputs("\r\x1b[2K", out_);
    std::fflush(out_);
  }

 private:
  std::string paint(const std::string& text, Status s) const {
    return color_ ? colour_of(s) + text + kReset : text;
  }

  void draw(const HealthState& h, const std::string& headline, Status headline_status = Status::Unknown,
            bool last = false) {
    const size_t width = terminal_width(out_);
    const double now = core::wall_seconds();
    size_t w = 9;  // "COMPONENT"
    for (const auto& c : h.components()) w = std::max(w, c->name.size() + (c->required ? 0 : 11));

    std::vector<std::string> lines;
    lines.push_back("lettagate wait: " + (headline_status == Status::Unknown ? headline : paint(headline, headline_status)));
    lines.push_back(fmt::format("  {:<{}}  {:<8}  {:>8}  {:>7}  {}", "COMPONENT", w, "STATE", "LATENCY", "FOR", "REASON"));
    for (const auto& c : h.components()) {
      const std::string name = c->required ? c->name : c->name + " (optional)";
      // Pad before painting: the escape bytes must not count towards the column width.
      const std::string state = paint(fmt::format("{:<8}", probes::to_string(c->status)), c->status);
      lines.push_back(fmt::format("  {:<{}}  {}  {:>8}  {:>7}  {}", name, w, state, wait_format::latency(*c),
                                  wait_format::elapsed(now - c->since), wait_format::printable(c->reason)));
    }

    std::string frame;
    if (drawn_lines_ > 0) frame += fmt::format("\x1b[{}A", drawn_lines_);  // back to the first line
    if (last) frame += "\r\x1b[J";  // whole lines may wrap: clear all below, not line by line
    // Leave the last column free: writing into it makes some terminals wrap early.
    for (const auto& l : lines)
      frame += "\r\x1b[2K" + (last ? l : wait_format::fit(l, width > 1 ? width - 1 : width)) + "\n";
    // Fewer components than last time cannot happen, but clear any leftover line anyway.
    for (size_t i = lines.size(); i < drawn_lines_; ++i) frame += "\r\x1b[2K\n";
    drawn_lines_ = std::max(drawn_lines_, lines.size());
    std::fputs(frame.c_str(), out_);
    std::fflush(out_);
  }

  FILE* out_;
  bool color_;
  core::Millis timeout_{0};
  size_t drawn_lines_ = 0;
  double last_draw_s_ = 0;
  bool dirty_ = false;
};

}  // namespace

std::unique_ptr<WaitView> make_live_view(FILE* out, bool color) { return std::make_unique<LiveView>(out, color); }

}  // namespace lg::app
