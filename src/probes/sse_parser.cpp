#include "probes/sse_parser.hpp"

#include <fmt/format.h>

namespace lg::probes {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

size_t SseParser::feed(std::string_view chunk, std::vector<SseEvent>& out) {
  bytes_ += chunk.size();
  if (!error_.empty()) return 0;
  const size_t before = out.size();

  // The BOM may arrive split across chunks: hold the first bytes until it is decided.
  std::string held;
  if (!bom_checked_) {
    bom_prefix_.append(chunk);
    if (bom_prefix_.size() < kBom.size() && kBom.substr(0, bom_prefix_.size()) == bom_prefix_) return 0;
    bom_checked_ = true;
    held = std::move(bom_prefix_);
    bom_prefix_.clear();
    if (std::string_view(held).substr(0, kBom.size()) == kBom) held.erase(0, kBom.size());
    chunk = held;
  }

  size_t pos = 0;
  while (pos < chunk.size()) {
    if (after_cr_) {
      after_cr_ = false;
      if (chunk[pos] == '\n') {  // the LF of a CRLF whose CR ended the previous line
        ++pos;
        continue;
      }
    }
    const size_t end = chunk.find_first_of("\r\n", pos);
    const size_t take = (end == std::string_view::npos ? chunk.size() : end) - pos;
    if (line_.size() + data_.size() + take > max_event_bytes_) {
      error_ = fmt::format("an event is longer than {} bytes", max_event_bytes_);
      line_.clear();
      data_.clear();
      return out.size() - before;
    }
    line_.append(chunk.substr(pos, take));
    if (end == std::string_view::npos) break;
    after_cr_ = chunk[end] == '\r';
    std::string l = std::move(line_);
    line_.clear();
    line(l, out);
    pos = end + 1;
  }
  return out.size() - before;
}

void SseParser::line(std::string_view l, std::vector<SseEvent>& out) {
  if (l.empty()) {
    dispatch(out);
    return;
  }
  if (l.front() == ':') {
    ++comments_;
    return;
  }
  const size_t colon = l.find(':');
  std::string_view name = l.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view() : l.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  field(name, value);
  pending_fields_ = true;
}

void SseParser::field(std::string_view name, std::string_view value) {
  if (name == "data") {
    data_.append(value);
    data_.push_back('\n');
  } else if (name == "event") {
    type_ = std::string(value);
  } else if (name == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_ = std::string(value);
  } else if (name == "retry") {
    // Digits only (the spec ignores anything else); 18 digits cannot overflow 64 bits.
    if (all_digits(value) && value.size() <= 18) retry_ms_ = std::stoull(std::string(value));
  }
}

void SseParser::dispatch(std::vector<SseEvent>& out) {
  pending_fields_ = false;
  if (data_.empty()) {  // no data line: nothing to dispatch (spec), the type is forgotten
    type_.clear();
    return;
  }
  data_.pop_back();  // the '\n' after the last data line
  SseEvent e;
  if (!type_.empty()) e.type = std::move(type_);
  e.data = std::move(data_);
  e.id = last_id_;
  type_.clear();
  data_.clear();
  ++events_;
  out.push_back(std::move(e));
}

}  // namespace lg::probes
