#include "webhook/http.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <system_error>

namespace latticeguard::webhook::http {
namespace {

// Byte classes of the head grammar, so each byte costs one table lookup wherever it is scanned.
enum : std::uint8_t {
  kToken = 1,       // tchar (RFC 9110 5.6.2): method and field names
  kTarget = 2,      // visible ASCII or obs-text: request target and version (no SP, no CTL)
  kFieldValue = 4,  // field-vchar, SP and HTAB: everything a field value may hold
  kWhitespace = 8,  // SP and HTAB (OWS)
};

constexpr std::array<std::uint8_t, 256> make_classes() {
  std::array<std::uint8_t, 256> t{};
  constexpr std::string_view kTokenPunct = "!#$%&'*+-.^_`|~";
  for (int c = 0; c < 256; ++c) {
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    std::uint8_t bits = 0;
    if (alnum || (c < 0x80 && kTokenPunct.find(static_cast<char>(c)) != std::string_view::npos)) {
      bits |= kToken;
    }
    if (c > 0x20 && c != 0x7f) bits |= kTarget;
    if ((c >= 0x20 && c != 0x7f) || c == '\t') bits |= kFieldValue;
    if (c == ' ' || c == '\t') bits |= kWhitespace;
    t[static_cast<std::size_t>(c)] = bits;
  }
  return t;
}
constexpr std::array<std::uint8_t, 256> kClasses = make_classes();

// The first byte at or after `p` that is not in `cls`, or `end`.
const char* skip(const char* p, const char* end, std::uint8_t cls) {
  while (p != end && (kClasses[static_cast<unsigned char>(*p)] & cls) != 0) ++p;
  return p;
}

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

// Case-insensitive ASCII comparison against an all-lowercase `lower`.
bool iequals(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (ascii_lower(s[i]) != lower[i]) return false;
  }
  return true;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

enum class LineEnd { kMore, kOk, kBad };

// `p` is where a scan of a line's content stopped: moves it past the line's CRLF or bare LF.
// kMore when the line may still end in bytes not yet seen; kBad for anything but a line end there
// (a CTL, or a CR not followed by LF).
LineEnd end_line(const char*& p, const char* end) {
  if (p == end) return LineEnd::kMore;
  if (*p == '\n') {
    ++p;
    return LineEnd::kOk;
  }
  if (*p == '\r') {
    if (p + 1 == end) return LineEnd::kMore;
    if (p[1] == '\n') {
      p += 2;
      return LineEnd::kOk;
    }
  }
  return LineEnd::kBad;
}

// One parse_head call. Spans point into the caller's bytes; strings are filled only on success,
// so a head that arrives in many reads is not copied once per read.
class HeadParser {
 public:
  HeadParser(std::string_view bytes, std::size_t max_head_bytes, RequestHead& head)
      : begin_(bytes.data()),
        // Nothing past the limit is looked at: a line that reaches it makes the head too large.
        end_(bytes.data() + std::min(bytes.size(), max_head_bytes)),
        over_limit_(bytes.size() > max_head_bytes),
        max_head_bytes_(max_head_bytes),
        head_(head) {}

  HeadStatus parse() {
    const char* p = begin_;
    if (HeadStatus s = request_line(p); s != HeadStatus::kComplete) return s;
    std::size_t fields = 0;
    while (true) {
      if (p == end_) return need_more();
      if (*p == '\r' || *p == '\n') {
        const char* q = p;
        if (HeadStatus s = line_end(q, "invalid line ending"); s != HeadStatus::kComplete) {
          return s;
        }
        head_.head_bytes = static_cast<std::size_t>(q - begin_);
        return finish();
      }
      // A continuation line could be joined or split by whoever reads it next; RFC 9112 5.2
      // lets a server refuse it, which is simpler than agreeing on one reading.
      if (*p == ' ' || *p == '\t') return fail(HeadStatus::kBad, 400, "obsolete header folding");
      if (fields == kMaxHeaders) {
        return fail(HeadStatus::kTooLarge, 431,
                    "more than " + std::to_string(kMaxHeaders) + " header fields");
      }
      if (HeadStatus s = field_line(p); s != HeadStatus::kComplete) return s;
      ++fields;
    }
  }

 private:
  HeadStatus need_more() {
    if (over_limit_) {
      return fail(HeadStatus::kTooLarge, 431,
                  "request head over " + std::to_string(max_head_bytes_) + " bytes");
    }
    return HeadStatus::kIncomplete;
  }

  HeadStatus fail(HeadStatus status, int http_status, std::string message) {
    head_.error_status = http_status;
    head_.error = std::move(message);
    return status;
  }

  // Moves `p` past a line end; kComplete means "go on", anything else is the result to return
  // (more bytes needed, or 400 with `bad_message` when something else stands there).
  HeadStatus line_end(const char*& p, const char* bad_message) {
    switch (end_line(p, end_)) {
      case LineEnd::kMore:
        return need_more();
      case LineEnd::kBad:
        return fail(HeadStatus::kBad, 400, bad_message);
      case LineEnd::kOk:
        break;
    }
    return HeadStatus::kComplete;
  }

  // `METHOD SP target SP HTTP/1.x` and its line end; kComplete means "go on".
  HeadStatus request_line(const char*& p) {
    const char* m = skip(p, end_, kToken);
    if (m == end_) return need_more();
    if (m == p || *m != ' ') return fail(HeadStatus::kBad, 400, "invalid request method");
    method_ = std::string_view(p, static_cast<std::size_t>(m - p));

    const char* target = m + 1;
    const char* t = skip(target, end_, kTarget);
    if (t == end_) return need_more();
    if (t == target || *t != ' ') return fail(HeadStatus::kBad, 400, "invalid request target");
    target_ = std::string_view(target, static_cast<std::size_t>(t - target));

    const char* version = t + 1;
    const char* v = skip(version, end_, kTarget);
    const char* version_end = v;
    if (HeadStatus s = line_end(v, "invalid HTTP version"); s != HeadStatus::kComplete) return s;
    const std::string_view ver(version, static_cast<std::size_t>(version_end - version));
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (ver.size() != 8 || ver.substr(0, 5) != "HTTP/" || !digit(ver[5]) || ver[6] != '.' ||
        !digit(ver[7])) {
      return fail(HeadStatus::kBad, 400, "invalid HTTP version");
    }
    // Well-formed but not 1.0 or 1.1 (HTTP/2.0, the h2 preface's "PRI * HTTP/2.0", HTTP/0.9).
    if (ver[5] != '1' || ver[7] > '1') {
      return fail(HeadStatus::kBad, 505, "HTTP version not supported");
    }
    head_.minor_version = ver[7] - '0';
    p = v;
    return HeadStatus::kComplete;
  }

  // `name ":" OWS value OWS` and its line end, at a byte that is not a line end or whitespace.
  HeadStatus field_line(const char*& p) {
    const char* colon = skip(p, end_, kToken);
    if (colon == end_) return need_more();
    // Also refuses whitespace before the colon (RFC 9112 5.1: a known smuggling vector).
    if (colon == p || *colon != ':') return fail(HeadStatus::kBad, 400, "invalid header name");
    const std::string_view name(p, static_cast<std::size_t>(colon - p));

    const char* value = skip(colon + 1, end_, kWhitespace);
    const char* value_end = skip(value, end_, kFieldValue);
    const char* q = value_end;
    if (HeadStatus s = line_end(q, "invalid character in header value");
        s != HeadStatus::kComplete) {
      return s;
    }
    while (value_end != value && (value_end[-1] == ' ' || value_end[-1] == '\t')) --value_end;
    p = q;
    return field(name, std::string_view(value, static_cast<std::size_t>(value_end - value)));
  }

  // Keeps or checks a field the webhook cares about; every other field is already checked.
  HeadStatus field(std::string_view name, std::string_view value) {
    // The length picks at most one candidate, so most fields cost one switch.
    switch (name.size()) {
      case 6:
        if (iequals(name, "expect")) {
          // RFC 9110 10.1.1: a 100-continue from an HTTP/1.0 client is to be ignored.
          if (head_.minor_version >= 1 && iequals(value, "100-continue")) {
            head_.expect_continue = true;
          }
        }
        break;
      case 10:
        if (iequals(name, "connection")) connection(value);
        break;
      case 12:
        // The first one wins, as with Go's Header.Get.
        if (!has_content_type_ && iequals(name, "content-type")) {
          has_content_type_ = true;
          content_type_ = value;
        }
        break;
      case 14:
        if (iequals(name, "content-length")) return content_length(value);
        break;
      case 17:
        if (iequals(name, "transfer-encoding")) return transfer_encoding(value);
        break;
      default:
        break;
    }
    return HeadStatus::kComplete;
  }

  HeadStatus content_length(std::string_view value) {
    // Digits only: from_chars takes no sign or whitespace for an unsigned type, and a list
    // ("5, 5") stops it at the comma. Lists are refused rather than collapsed: no client of a
    // webhook sends one, and refusing cannot be read two ways.
    std::uint64_t n = 0;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (value.empty() || ec != std::errc() || ptr != value.data() + value.size()) {
      return fail(HeadStatus::kBad, 400, "invalid Content-Length");
    }
    if (head_.has_content_length && head_.content_length != n) {
      return fail(HeadStatus::kBad, 400, "conflicting Content-Length values");
    }
    if (head_.chunked) {
      return fail(HeadStatus::kBad, 400, "both Content-Length and Transfer-Encoding");
    }
    head_.has_content_length = true;
    head_.content_length = n;
    return HeadStatus::kComplete;
  }

  HeadStatus transfer_encoding(std::string_view value) {
    // RFC 9112 6.1: an HTTP/1.0 peer may not know chunked, so its framing is ambiguous.
    if (head_.minor_version == 0) {
      return fail(HeadStatus::kBad, 400, "Transfer-Encoding in an HTTP/1.0 request");
    }
    if (head_.has_content_length) {
      return fail(HeadStatus::kBad, 400, "both Content-Length and Transfer-Encoding");
    }
    // Exactly one "chunked": any other coding, a list, or a second field (which joins into the
    // list "chunked, chunked") is a coding we do not decode.
    if (head_.chunked || !iequals(value, "chunked")) {
      return fail(HeadStatus::kBad, 501, "unsupported Transfer-Encoding");
    }
    head_.chunked = true;
    return HeadStatus::kComplete;
  }

  // Comma-separated options; only close and keep-alive matter, and close wins over keep-alive.
  void connection(std::string_view value) {
    while (!value.empty()) {
      const std::size_t comma = value.find(',');
      const std::string_view option = trim_ows(value.substr(0, comma));
      if (iequals(option, "close")) {
        close_ = true;
      } else if (iequals(option, "keep-alive")) {
        keep_alive_option_ = true;
      }
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }

  HeadStatus finish() {
    head_.keep_alive = !close_ && (head_.minor_version >= 1 || keep_alive_option_);
    head_.method.assign(method_);
    head_.path.assign(target_.substr(0, target_.find('?')));
    head_.content_type.assign(content_type_);
    return HeadStatus::kComplete;
  }

  const char* const begin_;
  const char* const end_;
  const bool over_limit_;
  const std::size_t max_head_bytes_;
  RequestHead& head_;
  std::string_view method_;
  std::string_view target_;
  std::string_view content_type_;
  bool has_content_type_ = false;
  bool close_ = false;
  bool keep_alive_option_ = false;
};

// The whole chunk-size line (size and extensions) and the whole trailer section: both are read
// and dropped, so without a bound a client could send them forever without reaching max_body.
constexpr std::size_t kMaxChunkLineBytes = 4096;
constexpr std::size_t kMaxTrailerBytes = 16384;
// 15 hex digits (< 2^60), leading zeros included: the size cannot overflow, and a run of zeros
// cannot go on forever.
constexpr int kMaxSizeDigits = 15;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

HeadStatus parse_head(std::string_view bytes, std::size_t max_head_bytes, RequestHead& head) {
  // Clear rather than replace, so a RequestHead reused per connection keeps its strings' capacity.
  head.method.clear();
  head.path.clear();
  head.minor_version = 1;
  head.content_type.clear();
  head.has_content_length = false;
  head.content_length = 0;
  head.chunked = false;
  head.expect_continue = false;
  head.keep_alive = true;
  head.head_bytes = 0;
  head.error_status = 0;
  head.error.clear();
  return HeadParser(bytes, max_head_bytes, head).parse();
}

ChunkedDecoder::Status ChunkedDecoder::feed(std::string_view in, std::size_t max_body,
                                            std::string& body, std::size_t& consumed) {
  consumed = 0;
  switch (state_) {
    case State::kDone:
      return Status::kDone;
    case State::kBad:
      return Status::kBad;
    case State::kTooLarge:
      return Status::kTooLarge;
    default:
      break;
  }
  const char* const begin = in.data();
  const char* const end = begin + in.size();
  const char* p = begin;
  auto stop = [&](State state, Status status) {
    state_ = state;
    consumed = static_cast<std::size_t>(p - begin);
    return status;
  };
  // After a size line: the next chunk's data, or the trailers after the last chunk.
  auto size_line_done = [&]() -> bool {
    line_bytes_ = 0;
    size_digits_ = 0;
    if (remaining_ == 0) {
      state_ = State::kTrailerStart;
      return true;
    }
    // Refused before its data arrives: the server can answer without reading it.
    if (decoded_ > max_body || remaining_ > max_body - decoded_) return false;
    state_ = State::kData;
    return true;
  };

  while (p != end) {
    if (state_ == State::kData) {
      const std::size_t n = static_cast<std::size_t>(
          std::min<std::uint64_t>(remaining_, static_cast<std::size_t>(end - p)));
      body.append(p, n);
      p += n;
      remaining_ -= n;
      decoded_ += n;
      if (remaining_ == 0) state_ = State::kDataCr;
      continue;
    }
    const char c = *p++;
    switch (state_) {
      case State::kSize: {
        if (++line_bytes_ > kMaxChunkLineBytes) return stop(State::kBad, Status::kBad);
        const int v = hex_value(c);
        if (v >= 0) {
          if (++size_digits_ > kMaxSizeDigits) return stop(State::kBad, Status::kBad);
          remaining_ = remaining_ * 16 + static_cast<std::uint64_t>(v);
        } else if (size_digits_ == 0) {
          return stop(State::kBad, Status::kBad);
        } else if (c == ';') {
          state_ = State::kExtension;
        } else if (c == ' ' || c == '\t') {
          state_ = State::kSizeSpace;
        } else if (c == '\r') {
          state_ = State::kSizeLf;
        } else if (c == '\n') {
          if (!size_line_done()) return stop(State::kTooLarge, Status::kTooLarge);
        } else {
          return stop(State::kBad, Status::kBad);
        }
        break;
      }
      case State::kSizeSpace:
        // RFC 9112 7.1.1 allows whitespace (BWS) only before an extension's ';'.
        if (++line_bytes_ > kMaxChunkLineBytes) return stop(State::kBad, Status::kBad);
        if (c == ';') {
          state_ = State::kExtension;
        } else if (c != ' ' && c != '\t') {
          return stop(State::kBad, Status::kBad);
        }
        break;
      case State::kExtension:
        if (++line_bytes_ > kMaxChunkLineBytes) return stop(State::kBad, Status::kBad);
        if (c == '\r') {
          state_ = State::kSizeLf;
        } else if (c == '\n') {
          if (!size_line_done()) return stop(State::kTooLarge, Status::kTooLarge);
        }
        break;
      case State::kSizeLf:
        if (c != '\n') return stop(State::kBad, Status::kBad);
        if (!size_line_done()) return stop(State::kTooLarge, Status::kTooLarge);
        break;
      case State::kDataCr:
        // Strict CRLF after data: a bare LF here is where front proxies disagree (chunk-length
        // smuggling), and no real client sends one.
        if (c != '\r') return stop(State::kBad, Status::kBad);
        state_ = State::kDataLf;
        break;
      case State::kDataLf:
        if (c != '\n') return stop(State::kBad, Status::kBad);
        state_ = State::kSize;
        break;
      case State::kTrailerStart:
        if (++line_bytes_ > kMaxTrailerBytes) return stop(State::kBad, Status::kBad);
        if (c == '\n') return stop(State::kDone, Status::kDone);
        state_ = c == '\r' ? State::kEndLf : State::kTrailerLine;
        break;
      case State::kTrailerLine:
        if (++line_bytes_ > kMaxTrailerBytes) return stop(State::kBad, Status::kBad);
        if (c == '\r') {
          state_ = State::kTrailerLf;
        } else if (c == '\n') {
          state_ = State::kTrailerStart;
        }
        break;
      case State::kTrailerLf:
        if (++line_bytes_ > kMaxTrailerBytes) return stop(State::kBad, Status::kBad);
        if (c != '\n') return stop(State::kBad, Status::kBad);
        state_ = State::kTrailerStart;
        break;
      case State::kEndLf:
        if (c != '\n') return stop(State::kBad, Status::kBad);
        return stop(State::kDone, Status::kDone);
      case State::kData:
      case State::kDone:
      case State::kBad:
      case State::kTooLarge:
        break;  // handled above the switch
    }
  }
  consumed = in.size();
  return Status::kNeedMore;
}

}  // namespace latticeguard::webhook::http
