#include "proxy/http_exchanges.hpp"

#include <algorithm>
#include <cstring>

namespace lg::proxy {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr uint64_t kMaxChunk = uint64_t{1} << 56;  // a chunk no one sends

}  // namespace

void HttpExchanges::feed(Side& s, const char* p, size_t n) {
  while (n > 0 && !opaque_) {
    size_t used = n;
    switch (s.phase) {
      case Phase::Start:
      case Phase::Headers:
      case Phase::Trailers:
        used = head(s, p, n);
        break;
      case Phase::Body:
        used = static_cast<size_t>(std::min<uint64_t>(s.left, n));
        s.left -= used;
        if (s.left == 0) message_done(s);
        break;
      case Phase::ChunkSize:
        used = chunk_size(s, p, n);
        break;
      case Phase::ChunkData:
        used = static_cast<size_t>(std::min<uint64_t>(s.left, n));
        s.left -= used;
        if (s.left == 0) {
          s.phase = Phase::ChunkEnd;
          s.left = 2;  // CR (optional), LF
        }
        break;
      case Phase::ChunkEnd:
        used = 1;
        if (*p == '\r' && s.left == 2) {
          s.left = 1;
        } else if (*p == '\n') {
          s.phase = Phase::ChunkSize;
          s.left = 0;
          s.chunk_digits = s.chunk_ext = false;
        } else {
          opaque_ = true;
        }
        break;
      case Phase::UntilClose:
        break;  // the body ends with the connection
    }
    p += used;
    n -= used;
  }
}

// The lines of a head (or of the trailers) in this read, up to where a body starts. A head found
// whole here goes through whole_head; otherwise line by line: whole lines are looked at in place,
// a line split between reads keeps its first kLineKeep bytes.
size_t HttpExchanges::head(Side& s, const char* const p, const size_t n) {
  const char* at = p;
  const char* const end = p + n;
  while (at < end && in_head(s.phase)) {
    if (s.phase == Phase::Start && s.line_len == 0) {
      if (!s.response && (*at == '\r' || *at == '\n')) {  // empty lines between requests
        ++at;
        continue;
      }
      if (s.response ? *at != 'H' : (*at < 'A' || *at > 'Z')) {  // no start line: not HTTP (psql, TLS)
        opaque_ = true;
        return n;
      }
      const size_t used = whole_head(s, at, end);
      if (opaque_) return n;
      if (used > 0) {
        at += used;
        continue;
      }
      s.in_message = true;
    }
    const auto* nl = static_cast<const char*>(std::memchr(at, '\n', static_cast<size_t>(end - at)));
    const size_t seg = static_cast<size_t>((nl ? nl : end) - at);
    const char* l = at;
    size_t len = seg;
    bool cut = false;
    if (s.line_len > 0 || !nl) {
      if (s.line_len < kLineKeep) std::memcpy(s.line + s.line_len, at, std::min(seg, kLineKeep - s.line_len));
      s.line_len = static_cast<uint32_t>(std::min<size_t>(s.line_len + seg, kMaxLine + 1));
      if (s.line_len > kMaxLine) {  // no server takes such a head line: not HTTP we follow
        opaque_ = true;
        return n;
      }
      if (!nl) return n;
      l = s.line;
      cut = s.line_len > kLineKeep;
      len = cut ? kLineKeep : s.line_len;
      s.line_len = 0;
    }
    at = nl + 1;
    if (!cut && len > 0 && l[len - 1] == '\r') --len;
    if (s.phase == Phase::Headers && len > 0 && !http_head::worth_a_look(l[0])) continue;
    if (!line(s, l, len, cut)) {
      opaque_ = true;
      return n;
    }
  }
  return static_cast<size_t>(at - p);
}

// The usual case: a message starts at p and its whole head is in this read. One pass over its
// lines with what they say kept in locals, applied at the empty line; 0 (nothing changed) when
// the head does not end here, and the line-by-line path takes it from the start.
size_t HttpExchanges::whole_head(Side& s, const char* p, const char* end) {
  http_head::Newlines lines(p, end);
  const char* nl = lines.next();
  if (!nl) return 0;
  size_t len = static_cast<size_t>(nl - p);
  if (len > 0 && p[len - 1] == '\r') --len;
  bool head_request = false;
  const int status = s.response ? http_head::status_line(p, len) : 0;
  if (s.response ? status < 0 : !http_head::request_line(p, len, false, &head_request)) {
    opaque_ = true;
    return 0;
  }
  http_head::Framing framing;
  for (const char* l = nl + 1; (nl = lines.next()); l = nl + 1) {
    len = static_cast<size_t>(nl - l);
    if (len > 0 && l[len - 1] == '\r') --len;
    if (len == 0) {
      s.framing = framing;
      s.in_message = true;
      if (!begin_message(s, head_request, status) || !end_of_head(s)) {
        opaque_ = true;
        return 0;
      }
      return static_cast<size_t>(nl + 1 - p);
    }
    if (http_head::worth_a_look(*l) && !http_head::header(framing, l, len, false, !s.response)) {
      opaque_ = true;
      return 0;
    }
  }
  return 0;
}

bool HttpExchanges::line(Side& s, const char* l, size_t len, bool cut) {
  switch (s.phase) {
    case Phase::Start: {
      bool head_request = false;
      const int status = s.response ? http_head::status_line(l, len) : 0;
      if (s.response ? status < 0 : !http_head::request_line(l, len, cut, &head_request)) return false;
      s.framing = http_head::Framing{};
      return begin_message(s, head_request, status);
    }
    case Phase::Headers:
      if (len == 0) return end_of_head(s);
      return http_head::header(s.framing, l, len, cut, !s.response);
    case Phase::Trailers:
      if (len == 0) message_done(s);
      return true;
    default:
      return false;
  }
}

// A start line read: a request waits for its response (HEAD's noted); a response answers the
// oldest waiting request, unless it is interim (1xx).
bool HttpExchanges::begin_message(Side& s, bool head_request, int status) {
  s.phase = Phase::Headers;
  s.left = 0;
  s.no_body = s.interim = false;
  if (!s.response) {
    if (waiting_ >= kMaxWaiting) return false;
    if (head_request) head_fifo_ |= uint64_t{1} << waiting_;
    ++waiting_;
    return true;
  }
  if (waiting_ == 0) return false;  // an answer to no request: not an exchange we follow
  if (status == 101) return false;  // switching protocols: a tunnel from here
  if (status < 200) {
    s.interim = s.no_body = true;  // 100 Continue, 103 Early Hints: the request waits on
    return true;
  }
  const bool head = (head_fifo_ & 1) != 0;
  head_fifo_ >>= 1;
  --waiting_;
  s.no_body = head || status == 204 || status == 304;
  return true;
}

bool HttpExchanges::end_of_head(Side& s) {
  const http_head::Framing& f = s.framing;
  if ((f.chunked || f.te_other) && f.content_length >= 0) return false;  // both: ambiguous framing
  if (s.response && s.no_body) {
    message_done(s);
  } else if (f.chunked) {
    s.phase = Phase::ChunkSize;
    s.left = 0;
    s.chunk_digits = s.chunk_ext = false;
  } else if (f.te_other) {
    if (!s.response) return false;  // a request's body length cannot be known
    s.phase = Phase::UntilClose;
  } else if (f.content_length > 0) {
    s.phase = Phase::Body;
    s.left = static_cast<uint64_t>(f.content_length);
  } else if (f.content_length == 0 || !s.response) {
    message_done(s);
  } else {
    s.phase = Phase::UntilClose;  // a response without a length ends with the connection
  }
  return true;
}

// The chunk-size line: hex digits, then an optional extension (skipped), up to LF.
size_t HttpExchanges::chunk_size(Side& s, const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const char c = p[i];
    if (c == '\n' && s.chunk_digits) {
      s.phase = s.left == 0 ? Phase::Trailers : Phase::ChunkData;
      return i + 1;
    }
    if (s.chunk_ext && c != '\n') continue;
    const int d = hex_value(c);
    if (d >= 0 && !s.chunk_ext && s.left < kMaxChunk) {
      s.left = s.left * 16 + static_cast<uint64_t>(d);
      s.chunk_digits = true;
    } else if (s.chunk_digits && (c == ';' || c == '\r' || c == ' ' || c == '\t')) {
      s.chunk_ext = true;
    } else {
      opaque_ = true;
      return n;
    }
  }
  return n;
}

void HttpExchanges::message_done(Side& s) {
  s.phase = Phase::Start;
  s.in_message = false;
  if (!s.response) ++requests_done_;
  else if (!s.interim) ++responses_done_;
}

}  // namespace lg::proxy
