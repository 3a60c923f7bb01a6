// Differential target for rules/core/json_reader.h: on any bytes, parse_json must accept exactly
// what json::parse accepts and build an identical document (same values, same number types).
// A disagreement aborts, so the fuzzer reports the input. The one intended difference: a text
// with a raw NUL byte, which json::parse may take as its end, is always invalid for parse_json.
// A rejected text must also be reported at a byte inside it (or at its end) with a reason.
#include "rules/core/json_reader.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // json::parse recurses in places (dump, comparison); keep the depth where it is safe.
  std::size_t depth = 0;
  for (char c : text) {
    if (c == '[' || c == '{') ++depth;
  }
  if (depth > 2000) return 0;
  const nlohmann::json got = latticeguard::parse_json(text);
  if (std::memchr(text.data(), '\0', text.size()) != nullptr) {
    if (!got.is_discarded()) {
      std::fprintf(stderr, "parse_json accepts a text with a raw NUL byte\n");
      std::abort();
    }
    return 0;
  }
  const nlohmann::json expected = nlohmann::json::parse(text, nullptr, false);
  if (expected.is_discarded() != got.is_discarded()) {
    std::fprintf(stderr, "json::parse %s, parse_json %s\n",
                 expected.is_discarded() ? "rejects" : "accepts",
                 got.is_discarded() ? "rejects" : "accepts");
    std::abort();
  }
  if (got.is_discarded()) {
    nlohmann::json doc;
    const latticeguard::ReadResult r =
        latticeguard::sax_read<nlohmann::detail::json_sax_dom_parser<nlohmann::json>>(text, doc,
                                                                                      false);
    if (r || r.offset > text.size() || r.reason.empty()) {
      std::fprintf(stderr, "rejected text reported at byte %zu of %zu: '%.*s'\n", r.offset,
                   text.size(), static_cast<int>(r.reason.size()), r.reason.data());
      std::abort();
    }
  }
  if (!expected.is_discarded() && !latticeguard::identical(expected, got)) {
    std::fprintf(stderr, "documents differ\n");
    std::abort();
  }
  return 0;
}
