#pragma once
// SseParser: the text/event-stream framing of the WHATWG HTML spec ("Server-sent events",
// 9.2.6 Interpreting an event stream), as a pure function of the bytes fed to it: no socket,
// no clock, so it is unit-tested with any chunking and fuzzed.
//
//  - Lines end with CRLF, LF or a lone CR; a CRLF split across two chunks is one line end.
//  - A UTF-8 BOM at the very start of the stream is skipped.
//  - `field: value` (one space after the colon dropped), `field` alone (empty value);
//    fields data, event, id (ignored when it holds NUL), retry (digits only); others ignored.
//  - A line starting with ':' is a comment: ignored, only counted (see comments()).
//  - A blank line dispatches the event if its data buffer is not empty (a block of only
//    comments, or only `event:`/`id:`, dispatches nothing); the last '\n' of data is dropped.
//  - Bytes after the last blank line are an incomplete event: never dispatched.
// A line or an event longer than the limit puts the parser in a failed state (error()) that
// ignores further input: a hostile stream cannot grow memory without bound.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lg::probes {

struct SseEvent {
  std::string type = "message";  // the `event:` field, "message" when absent
  std::string data;              // `data:` lines joined with '\n'
  std::string id;                // the last event id in effect when it was dispatched
};

class SseParser {
 public:
  explicit SseParser(size_t max_event_bytes = 1 << 20) : max_event_bytes_(max_event_bytes) {}

  // Parses `chunk` and appends every event it completes to `out`. Returns how many it added.
  size_t feed(std::string_view chunk, std::vector<SseEvent>& out);

  uint64_t bytes() const { return bytes_; }        // bytes fed so far
  uint64_t comments() const { return comments_; }  // comment lines seen so far
  uint64_t events() const { return events_; }      // events dispatched so far
  // Something of an event (a field line) is pending: fed, but its blank line has not come.
  bool partial() const { return !line_.empty() || pending_fields_; }
  const std::string& last_event_id() const { return last_id_; }
  std::optional<uint64_t> retry_ms() const { return retry_ms_; }
  const std::string& error() const { return error_; }  // empty unless a limit was exceeded

 private:
  void line(std::string_view l, std::vector<SseEvent>& out);
  void field(std::string_view name, std::string_view value);
  void dispatch(std::vector<SseEvent>& out);

  size_t max_event_bytes_;
  std::string line_;           // the line being read (without its terminator)
  std::string data_;           // data buffer of the event being read
  std::string type_;           // event type buffer
  std::string last_id_;
  std::optional<uint64_t> retry_ms_;
  bool pending_fields_ = false;
  bool after_cr_ = false;      // the previous byte was a CR: a following LF ends nothing
  bool bom_checked_ = false;
  std::string bom_prefix_;     // the first bytes while they may still be a BOM
  uint64_t bytes_ = 0;
  uint64_t comments_ = 0;
  uint64_t events_ = 0;
  std::string error_;
};

}  // namespace lg::probes
