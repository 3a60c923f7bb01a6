// KeyView: looks up a key in a JSON object's map without a call to memcmp per tree node.
//
//   const json::object_t& m = j.get_ref<const json::object_t&>();
//   auto it = m.find(KeyView{"spec"});
//
// nlohmann::json objects are std::map<std::string, json, std::less<>>; a lookup by string_view
// compares through std::string::compare, a library memcmp call at every node. Keys are short and
// usually differ in their first byte, so an inline byte loop with the same (unsigned,
// lexicographic) order is several times cheaper; rules and the decoder look keys up millions of
// times per lint. Stateless; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace latticeguard {

struct KeyView {
  std::string_view key;
};

namespace detail {
// std::string's order: bytes compared as unsigned char, then the shorter first.
inline bool key_less(std::string_view a, std::string_view b) {
  size_t n = a.size() < b.size() ? a.size() : b.size();
  for (size_t i = 0; i < n; ++i) {
    auto x = static_cast<unsigned char>(a[i]);
    auto y = static_cast<unsigned char>(b[i]);
    if (x != y) return x < y;
  }
  return a.size() < b.size();
}
}  // namespace detail

inline bool operator<(const std::string& a, KeyView b) { return detail::key_less(a, b.key); }
inline bool operator<(KeyView a, const std::string& b) { return detail::key_less(a.key, b); }

}  // namespace latticeguard
