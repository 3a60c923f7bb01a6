// Feeds arbitrary bytes to the HTTP/1.1 request-head parser under several head limits and, when a
// head is complete and chunked, the bytes after it to a ChunkedDecoder. No input may crash, hang
// or read out of bounds, and the promises the server relies on are checked too: a head result
// other than kIncomplete never changes when more bytes arrive, and a chunked body decodes the same
// whether it comes in one read or two.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "webhook/http.h"

namespace {

using namespace latticeguard::webhook::http;

// A broken promise is a finding: stop here so libFuzzer saves the input.
#define FUZZ_CHECK(cond)           \
  do {                             \
    if (!(cond)) __builtin_trap(); \
  } while (0)

bool same_head(const RequestHead& a, const RequestHead& b) {
  return a.method == b.method && a.path == b.path && a.minor_version == b.minor_version &&
         a.content_type == b.content_type && a.has_content_length == b.has_content_length &&
         a.content_length == b.content_length && a.chunked == b.chunked &&
         a.expect_continue == b.expect_continue && a.keep_alive == b.keep_alive &&
         a.head_bytes == b.head_bytes && a.error_status == b.error_status && a.error == b.error;
}

void check_head(std::string_view in, std::size_t limit, HeadStatus status, const RequestHead& h) {
  switch (status) {
    case HeadStatus::kIncomplete:
      FUZZ_CHECK(in.size() <= limit && h.error_status == 0);
      break;
    case HeadStatus::kComplete:
      FUZZ_CHECK(h.head_bytes > 0 && h.head_bytes <= in.size() && h.head_bytes <= limit);
      FUZZ_CHECK(in[h.head_bytes - 1] == '\n' && h.error_status == 0 && h.error.empty());
      FUZZ_CHECK(!(h.chunked && h.has_content_length));
      FUZZ_CHECK(h.minor_version == 0 || h.minor_version == 1);
      break;
    case HeadStatus::kBad:
      FUZZ_CHECK(h.error_status == 400 || h.error_status == 501 || h.error_status == 505);
      FUZZ_CHECK(!h.error.empty());
      break;
    case HeadStatus::kTooLarge:
      FUZZ_CHECK(h.error_status == 431 && !h.error.empty());
      break;
  }
}

struct Decoded {
  ChunkedDecoder::Status status = ChunkedDecoder::Status::kNeedMore;
  std::string body;
  std::size_t consumed = 0;
};

// Decodes `in` in two reads split at `split` (one read when split is in.size()).
Decoded decode(std::string_view in, std::size_t split, std::size_t max_body) {
  ChunkedDecoder d;
  Decoded out;
  std::size_t used = 0;
  out.status = d.feed(in.substr(0, split), max_body, out.body, used);
  FUZZ_CHECK(used <= split);
  out.consumed = used;
  if (out.status == ChunkedDecoder::Status::kNeedMore) {
    FUZZ_CHECK(used == split);
    out.status = d.feed(in.substr(split), max_body, out.body, used);
    FUZZ_CHECK(used <= in.size() - split);
    out.consumed += used;
  }
  FUZZ_CHECK(out.body.size() <= max_body);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  // Where to cut: taken from the last byte, so mutations move it around every part of the input.
  const std::size_t cut = size == 0 ? 0 : (std::size_t{data[size - 1]} * 257) % (size + 1);
  for (const std::size_t limit :
       {std::size_t{0}, std::size_t{16}, std::size_t{100}, std::size_t{1024}, std::size_t{16384}}) {
    RequestHead head;
    const HeadStatus status = parse_head(in, limit, head);
    check_head(in, limit, status, head);

    RequestHead early;
    const HeadStatus early_status = parse_head(in.substr(0, cut), limit, early);
    check_head(in.substr(0, cut), limit, early_status, early);
    if (early_status != HeadStatus::kIncomplete) {
      FUZZ_CHECK(early_status == status && same_head(early, head));
    }

    if (status != HeadStatus::kComplete || !head.chunked) continue;
    const std::string_view rest = in.substr(head.head_bytes);
    const std::size_t max_body = size % 2 == 0 ? 64 : 1 << 20;
    const Decoded whole = decode(rest, rest.size(), max_body);
    const Decoded split = decode(rest, cut % (rest.size() + 1), max_body);
    FUZZ_CHECK(whole.status == split.status && whole.body == split.body &&
               whole.consumed == split.consumed);
    if (whole.status == ChunkedDecoder::Status::kNeedMore) {
      FUZZ_CHECK(whole.consumed == rest.size());
    }
  }
  return 0;
}
