#pragma once
// What `lettagate wait` shows while it waits: a live table redrawn in place on a terminal,
// plain lines for pipes and CI logs, one JSON document, or nothing. The session calls the view;
// the view only reads the HealthState and writes to its FILE.
#include <cstdio>
#include <memory>
#include <string>

#include "core/duration.hpp"
#include "probes/health_state.hpp"

namespace lg::app {

struct WaitOutcome {
  bool ready = false;
  bool interrupted = false;  // SIGINT/SIGTERM before the end
  double elapsed_s = 0;
};

class WaitView {
 public:
  virtual ~WaitView() = default;
  // Once, after the components are added and before the first probe result.
  virtual void begin(const probes::HealthState&, core::Millis /*timeout*/) {}
  // After every damped state change of a component.
  virtual void transition(const probes::Component&, probes::Status /*previous*/, double /*elapsed_s*/) {}
  // Periodically while waiting (the live table redraws; the others ignore it).
  virtual void tick(const probes::HealthState&, double /*elapsed_s*/) {}
  // Once, at the end.
  virtual void end(const probes::HealthState&, const WaitOutcome&) = 0;
};

std::unique_ptr<WaitView> make_live_view(FILE* out, bool color);
std::unique_ptr<WaitView> make_plain_view(FILE* out);
std::unique_ptr<WaitView> make_json_view(FILE* out, core::Millis timeout);
std::unique_ptr<WaitView> make_quiet_view();

// Shared by the views (and tested on their own).
namespace wait_format {
// "0.4ms", "12ms", "1.23s"; "-" when the component has no result yet.
std::string latency(const probes::Component& c);
// "850ms", "3.25s", "12.5s", "1m05s".
std::string elapsed(double seconds);
// The text with control characters (a server's newlines, ANSI escapes) replaced by spaces, so a
// reason can never move the cursor or break a line.
std::string printable(const std::string& text);
// Cuts `line` to `width` visible columns (ANSI colour sequences take none, UTF-8 counts one a
// character), so the live table never wraps and cursor movement stays exact.
std::string fit(const std::string& line, size_t width);
// "postgres (down: ...)" list of the required components still not up, for the summary.
std::string blocking(const probes::HealthState& h, bool with_reasons = true);
// The one-line verdict: "ready after 0.31s", "not ready after 2.00s (timeout 2s): waiting for ...".
// `with_reasons` false: names and states only (the live table shows the reasons below it).
std::string verdict(const probes::HealthState& h, const WaitOutcome& o, core::Millis timeout, bool with_reasons = true);
}  // namespace wait_format

}  // namespace lg::app
