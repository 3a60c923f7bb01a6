#include "rules/core/names.h"

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

}  // namespace latticeguard
