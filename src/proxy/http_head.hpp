#pragma once
// The lines of an HTTP/1.x head, read only for what frames a message (HttpExchanges): the start
// line, Content-Length, Transfer-Encoding and (in a request) Upgrade. Pure functions over a line
// without its CRLF; false means "not HTTP we follow" (the session turns opaque). A `cut` line is
// one split between reads of which only the first HttpExchanges::kLineKeep bytes were kept.
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace lg::proxy::http_head {

struct Framing {
  int64_t content_length = -1;
  bool chunked = false;   // Transfer-Encoding ends in chunked
  bool te_other = false;  // a Transfer-Encoding that does not end in chunked
};

// METHOD SP target SP HTTP/1.x: false for CONNECT, PRI (HTTP/2's preface) and anything else.
bool request_line(const char* l, size_t len, bool cut, bool* head);
// HTTP/1.x SP 3DIGIT [SP reason]: the status, or -1.
int status_line(const char* l, size_t len);
// A header line: the three names that matter applied to f; false for a folded line, a bad or
// conflicting Content-Length, a cut Content-Length or Transfer-Encoding, an Upgrade in a request.
bool header(Framing& f, const char* l, size_t len, bool cut, bool request);

// The first bytes of the header lines header() must read (the three names, a folded line):
// any other line is passed over unread.
inline bool worth_a_look(char c) {
  switch (c) {
    case 'C': case 'c': case 'T': case 't': case 'U': case 'u': case ' ': case '\t':
      return true;
    default:
      return false;
  }
}

// The '\n's of [p, end) in order. With SSE2 (every x86-64) 16 bytes are compared at once, so a
// header line costs a few instructions rather than a memchr call.
class Newlines {
 public:
  Newlines(const char* p, const char* end) : block_(p), end_(end) {}
  const char* next() {
#if defined(__SSE2__)
    while (mask_ == 0) {
      if (end_ - block_ < 16) return tail();
      const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block_));
      mask_ = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_set1_epi8('\n'))));
      base_ = block_;
      block_ += 16;
    }
    const unsigned bit = static_cast<unsigned>(__builtin_ctz(mask_));
    mask_ &= mask_ - 1;
    return base_ + bit;
#else
    return tail();
#endif
  }

 private:
  const char* tail() {
    const auto* nl = static_cast<const char*>(std::memchr(block_, '\n', static_cast<size_t>(end_ - block_)));
    if (nl) block_ = nl + 1;
    return nl;
  }
  const char* block_;
  const char* end_;
  const char* base_ = nullptr;
  unsigned mask_ = 0;
};

}  // namespace lg::proxy::http_head
