// HTTP/1.1 request framing for the webhook server: the request line and headers, and a chunked
// body, decoded from bytes as they arrive off a connection. No I/O and no allocation beyond the
// results; the server feeds these whatever it has read so far.
//
//   http::RequestHead head;
//   switch (http::parse_head(buffered, kMaxHead, head)) {
//     case http::HeadStatus::kIncomplete: read more; break;
//     case http::HeadStatus::kComplete: body starts at buffered[head.head_bytes]; break;
//     default: answer head.error_status with head.error, then close the connection;
//   }
//
// Only what a webhook needs is kept (method, path, the framing headers and Content-Type); every
// other header is checked for syntax and skipped. Framing that could be read two ways (both
// Content-Length and Transfer-Encoding, two different Content-Lengths, a transfer coding other
// than chunked) is refused rather than guessed, so no proxy in front can disagree with us about
// where a request ends.
//
// Thread safety: parse_head is a pure function; a ChunkedDecoder belongs to one connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace latticeguard::webhook::http {

struct RequestHead {
  std::string method;        // as sent, case-sensitive ("GET", "POST", ...)
  std::string path;          // the request target up to '?'
  int minor_version = 1;     // HTTP/1.<minor_version>
  std::string content_type;  // empty when absent
  bool has_content_length = false;
  std::uint64_t content_length = 0;  // valid when has_content_length
  bool chunked = false;              // Transfer-Encoding: chunked
  bool expect_continue = false;      // Expect: 100-continue
  bool keep_alive = true;            // 1.1: unless "Connection: close"; 1.0: only with keep-alive
  std::size_t head_bytes = 0;        // request line and headers, final blank line included
  int error_status = 0;              // on kBad / kTooLarge: 400, 431, 501 or 505
  std::string error;                 // on kBad / kTooLarge: one line for the client
};

enum class HeadStatus {
  kIncomplete,  // no blank line yet and still under the size limit: read more
  kComplete,    // head parsed; `head` holds it
  kBad,         // malformed or ambiguous framing: answer head.error_status and close
  kTooLarge,    // over max_head_bytes or kMaxHeaders: answer head.error_status (431) and close
};

// Parses the request head at the start of `bytes` (which may hold more: the body, or the next
// request). Accepts a bare LF as line end, as RFC 9112 allows servers to. Refuses obs-fold
// continuation lines, control characters, header names that are not tokens, more than
// kMaxHeaders headers, a Content-Length that is not a decimal number, and a request line that is
// not `METHOD SP target SP HTTP/1.x` (400; 505 for a well-formed version other than 1.0 or 1.1;
// an empty line before the request line is refused too).
//
// Framing: Content-Length repeated with the same value is accepted, a list ("5, 5") is refused
// (400). Transfer-Encoding must be exactly one "chunked" (else 501), and is refused on HTTP/1.0
// and together with Content-Length (400). Expect: 100-continue counts on HTTP/1.1 only; other
// expectations are ignored. Of repeated Content-Type fields the first is kept.
//
// Bytes are checked in order as far as they go, and nothing past max_head_bytes is looked at:
// kBad comes as soon as the bytes so far cannot begin a valid head, even before the blank line,
// so a result other than kIncomplete never changes when more bytes are appended.
inline constexpr std::size_t kMaxHeaders = 100;
HeadStatus parse_head(std::string_view bytes, std::size_t max_head_bytes, RequestHead& head);

// Decodes a chunked body incrementally: feed it every new byte after the head, in order, and it
// appends the chunks' data to `body`. Chunk extensions and trailer fields are read and dropped
// (a size line over 4 KiB or a trailer section over 16 KiB is kBad). Chunk sizes take at most 15
// hex digits. Size and trailer lines may end in a bare LF; the line end after a chunk's data must
// be CRLF. Once kDone, kBad or kTooLarge, every later feed returns the same and consumes nothing.
class ChunkedDecoder {
 public:
  enum class Status {
    kNeedMore,  // every byte given was consumed; the body is not finished
    kDone,      // the last chunk and trailers ended; `consumed` says where (pipelined bytes follow)
    kBad,       // not valid chunked framing
    kTooLarge,  // the decoded body would exceed max_body (refused at the chunk's size line)
  };
  // Consumes bytes from `in`; `consumed` is set to how many were used (all of them on kNeedMore).
  Status feed(std::string_view in, std::size_t max_body, std::string& body, std::size_t& consumed);

 private:
  enum class State {
    kSize,          // hex digits of a chunk size
    kSizeSpace,     // whitespace after the size, before a ';'
    kExtension,     // after ';', up to the line end
    kSizeLf,        // after the size line's CR
    kData,          // remaining_ bytes of chunk data
    kDataCr,        // the CRLF after a chunk's data
    kDataLf,        // after that CR
    kTrailerStart,  // at the start of a trailer line (or the final blank line)
    kTrailerLine,   // inside a non-empty trailer line
    kTrailerLf,     // after a non-empty trailer line's CR
    kEndLf,         // after the final blank line's CR
    kDone,
    kBad,
    kTooLarge,
  };
  State state_ = State::kSize;
  std::uint64_t remaining_ = 0;  // bytes left in the current chunk (kData) or its size so far
  std::uint64_t decoded_ = 0;    // bytes appended to `body` so far, checked against max_body
  std::size_t line_bytes_ = 0;   // of the current size line, or of the trailer section
  int size_digits_ = 0;
};

}  // namespace latticeguard::webhook::http
