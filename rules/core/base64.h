// Base64 (RFC 4648) wherever the project meets it: kubeconfig `*-data` fields, Secret data and
// caBundle values and the webhook's JSON Patch use the standard alphabet with padding; Kubernetes
// continue tokens use the URL-safe alphabet without padding.
//
//   std::string b = base64_encode(pem);                       // "LS0tLS1CRUdJTi..."
//   Result<std::string> pem = base64_decode(b);                // Error on malformed input
//   std::string token = base64_encode(json, Base64::kUrl);     // unpadded
//
// Header-only so that libraries without the rule engine (certs, kube, webhook) share it.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "rules/core/result.h"

namespace latticeguard {

enum class Base64 { kStandard, kUrl };

namespace base64_detail {

inline std::string_view alphabet(Base64 a) {
  return a == Base64::kUrl ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                           : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

inline int value_of(char c, Base64 a) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == (a == Base64::kUrl ? '-' : '+')) return 62;
  if (c == (a == Base64::kUrl ? '_' : '/')) return 63;
  return -1;
}

}  // namespace base64_detail

// The standard alphabet pads to a multiple of four; the URL-safe one does not pad.
inline std::string base64_encode(std::string_view bytes, Base64 a = Base64::kStandard) {
  const std::string_view digits = base64_detail::alphabet(a);
  auto at = [&](size_t i) { return static_cast<unsigned>(static_cast<unsigned char>(bytes[i])); };
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
    out += digits[(v >> 18) & 63];
    out += digits[(v >> 12) & 63];
    out += digits[(v >> 6) & 63];
    out += digits[v & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    const unsigned v = at(i) << 16 | (rest == 2 ? at(i + 1) << 8 : 0u);
    out += digits[(v >> 18) & 63];
    out += digits[(v >> 12) & 63];
    if (rest == 2) out += digits[(v >> 6) & 63];
    if (a == Base64::kStandard) out.append(3 - rest, '=');
  }
  return out;
}

// Whitespace anywhere is skipped (PEM-style line breaks in kubeconfig files). Standard input must
// come padded to a multiple of four; URL-safe input may omit the padding. A character outside the
// alphabet, anything after padding, or a length no encoder produces is an Error.
inline Result<std::string> base64_decode(std::string_view text, Base64 a = Base64::kStandard) {
  std::string out;
  out.reserve(text.size() / 4 * 3);
  unsigned acc = 0;
  int bits = 0;
  size_t symbols = 0, padding = 0;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    const int v = base64_detail::value_of(c, a);
    if (v < 0 || padding > 0) return Error{"invalid base64"};
    acc = ((acc << 6) | static_cast<unsigned>(v)) & 0xFFFF;
    bits += 6;
    ++symbols;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  const size_t total = symbols + padding;
  const bool padded_ok = padding == 0 || (padding <= 2 && total % 4 == 0);
  const bool needs_padding = a == Base64::kStandard && total % 4 != 0;
  if (symbols % 4 == 1 || !padded_ok || needs_padding) return Error{"invalid base64 length"};
  return out;
}

}  // namespace latticeguard
