#include "rules/core/names.h"

#include <re2/re2.h>

namespace latticeguard {

std::string truncate_name(std::string_view s, size_t n) {
  if (s.size() > n) s = s.substr(0, n);
  while (!s.empty() && s.front() == '-') s.remove_prefix(1);
  while (!s.empty() && s.back() == '-') s.remove_suffix(1);
  return std::string(s);
}

std::string lattice_service_name(const Object& route) {
  const std::string* o = route.annotation(kServiceNameOverrideAnnotation);
  if (o && !o->empty()) return *o;
  return truncate_name(route.name(), 20) + "-" + truncate_name(route.ns(), 18);
}

bool lattice_service_name_truncated(const Object& route) {
  const std::string* o = route.annotation(kServiceNameOverrideAnnotation);
  if (o && !o->empty()) return false;
  return route.name().size() > 20 || route.ns().size() > 18;
}

std::string lattice_name_problem(std::string_view name, size_t max_len,
                                 std::string_view reserved_prefix) {
  static const RE2 kChars("[a-z0-9-]+");
  if (name.size() < 3 || name.size() > max_len) {
    return "must be 3-" + std::to_string(max_len) + " characters";
  }
  if (!RE2::FullMatch(name, kChars)) return "may contain only lower-case letters, digits and '-'";
  if (name.starts_with(reserved_prefix)) {
    return "must not start with \"" + std::string(reserved_prefix) + "\"";
  }
  if (name.starts_with("-") || name.ends_with("-")) return "must not start or end with '-'";
  if (name.find("--") != std::string_view::npos) return "must not contain \"--\"";
  return "";
}

}  // namespace latticeguard
