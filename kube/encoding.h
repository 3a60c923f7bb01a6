// Small text helpers shared by the Kubernetes client code and its tests: whole-file reads and
// base64 (standard alphabet for kubeconfig `*-data` fields, URL-safe for continue tokens).
// Pure functions; thread-safe.
#pragma once

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace latticeguard::kube {

inline std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string_view base64_alphabet(bool url) {
  return url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
             : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

// URL-safe output is unpadded, as in Kubernetes continue tokens.
inline std::string base64_encode(std::string_view in, bool url = false) {
  std::string_view alphabet = base64_alphabet(url);
  std::string out;
  int val = 0, bits = -6;
  for (unsigned char c : in) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out.push_back(alphabet[(val >> bits) & 0x3F]);
      bits -= 6;
    }
  }
  if (bits > -6) out.push_back(alphabet[((val << 8) >> (bits + 8)) & 0x3F]);
  while (!url && out.size() % 4) out.push_back('=');
  return out;
}

// Skips whitespace, stops at padding; nullopt on any other character outside the alphabet.
inline std::optional<std::string> base64_decode(std::string_view in, bool url = false) {
  std::string_view alphabet = base64_alphabet(url);
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') break;
    auto pos = alphabet.find(c);
    if (pos == std::string_view::npos) return std::nullopt;
    val = (val << 6) + static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

}  // namespace latticeguard::kube
