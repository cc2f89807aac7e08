#pragma once
// HttpExchanges: what a proxied session's bytes say about HTTP/1.x, so that a drain can tell an
// idle keep-alive connection (close it now) from one with a request or a stream in flight (let it
// finish). It watches the bytes as they pass, requests on client -> upstream and responses on
// upstream -> client, and never changes or holds them.
//
// A session is idle when every request started has been received whole and has its final
// response, complete: interim 1xx responses do not count; a response to HEAD, a 204 and a 304
// have no body (the methods of pipelined requests wait in a 64-bit FIFO); a response delimited
// by the upstream's close is never complete before that close. As soon as the bytes are not plain
// HTTP/1.x exchanges the session turns opaque for good and is never idle (a drain waits for it to
// close, as for any TCP connection): a first line that is no request or status line (psql,
// redis-cli, TLS, HTTP/2's preface), CONNECT or an Upgrade header in a request, a 101, a response
// before any request, a folded header line, both or conflicting lengths, a head line over 64 KiB,
// more than 64 requests waiting for their responses.
//
// Why not llhttp: it validates every byte of every header (measured with callgrind, user-space
// instructions per proxied keep-alive request: 1,459 without watching, 6,215 with llhttp, 2,918
// with this), while message boundaries need only the start lines, three headers and the chunk
// sizes (http_head.hpp). A head found whole in one read (the usual case) is cut into lines 16
// bytes at a time and a header line is read only when its first byte may start one of those
// names; bodies are skipped by count. What is not understood turns the session opaque, never
// idle. The only bytes copied are the first 48 of a line split between two reads.
#include <cstddef>
#include <cstdint>

#include "proxy/http_head.hpp"

namespace lg::proxy {

class HttpExchanges {
 public:
  // Client -> upstream bytes, seen before they are forwarded.
  void requests(const char* data, size_t len) {
    if (!opaque_) feed(requests_, data, len);
  }
  // Upstream -> client bytes, seen before they are forwarded.
  void responses(const char* data, size_t len) {
    if (!opaque_) feed(responses_, data, len);
  }

  bool opaque() const { return opaque_; }
  bool idle() const {
    return !opaque_ && !requests_.in_message && !responses_.in_message && responses_done_ == requests_done_;
  }
  uint64_t requests_done() const { return requests_done_; }
  uint64_t responses_done() const { return responses_done_; }

  static constexpr unsigned kMaxWaiting = 64;  // requests whose response has not started
  static constexpr size_t kLineKeep = 48;      // bytes kept of a line split between reads
  static constexpr size_t kMaxLine = 64 * 1024;  // a longer head line: opaque

 private:
  enum class Phase : uint8_t { Start, Headers, Body, ChunkSize, ChunkData, ChunkEnd, Trailers, UntilClose };

  // One direction: where its current message is (fields ordered to pack: one per session side).
  struct Side {
    uint64_t left = 0;  // body or chunk bytes still to come
    http_head::Framing framing;
    uint32_t line_len = 0;  // a line split between reads: its whole length so far...
    char line[kLineKeep];   // ...and its first bytes
    Phase phase = Phase::Start;
    bool response = false;
    bool in_message = false;
    bool no_body = false;       // HEAD's answer, 1xx, 204, 304
    bool interim = false;       // a 1xx response
    bool chunk_digits = false;  // ChunkSize: a hex digit seen
    bool chunk_ext = false;     // ChunkSize: past the digits (extension or whitespace)
  };

  static bool in_head(Phase p) { return p == Phase::Start || p == Phase::Headers || p == Phase::Trailers; }
  void feed(Side& s, const char* p, size_t n);
  // A head's (or the trailers') lines in this read: returns the bytes used. The functions below
  // return false (0 for whole_head) for bytes that are not HTTP we follow: the caller turns the
  // session opaque.
  size_t head(Side& s, const char* p, size_t n);
  size_t whole_head(Side& s, const char* p, const char* end);
  bool line(Side& s, const char* l, size_t len, bool cut);
  bool begin_message(Side& s, bool head_request, int status);
  bool end_of_head(Side& s);
  size_t chunk_size(Side& s, const char* p, size_t n);
  void message_done(Side& s);

  Side requests_{};
  Side responses_{.response = true};
  uint64_t requests_done_ = 0;
  uint64_t responses_done_ = 0;  // final responses complete
  uint64_t head_fifo_ = 0;       // bit i: the i-th request waiting for its response is a HEAD
  unsigned waiting_ = 0;         // requests whose head is in, response head not yet
  bool opaque_ = false;
};

}  // namespace lg::proxy
