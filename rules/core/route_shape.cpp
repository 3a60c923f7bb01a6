#include "rules/core/route_shape.h"

#include "rules/core/lattice.h"

namespace latticeguard {

std::vector<AttachedListener> lattice_listeners(const ClusterView& v, const Object& route) {
  std::vector<AttachedListener> out;
  for (const ResolvedParent& p : resolve_parents(v, route)) {
    if (!p.gateway || p.lattice == Tri::kNo) continue;
    const json* spec = child(p.gateway->doc(), "spec");
    const json* ls = spec ? child(*spec, "listeners") : nullptr;
    if (!ls || !ls->is_array()) continue;
    for (size_t i : matched_listeners(*p.gateway, *p.ref)) {
      const json& l = (*ls)[i];
      if (!listener_allows_kind(l, route.kind_name())) continue;
      out.push_back({p.index, p.pointer, p.gateway, i, &l});
    }
  }
  return out;
}

const json* spec_array(const Object& o, std::string_view key) {
  const json* spec = child(o.doc(), "spec");
  const json* a = spec ? child(*spec, key) : nullptr;
  return a && a->is_array() ? a : nullptr;
}

std::vector<std::string> route_hostnames(const Object& o) {
  std::vector<std::string> out;
  if (const json* hs = spec_array(o, "hostnames")) {
    for (const json& h : *hs) {
      if (h.is_string()) out.push_back(h.get<std::string>());
    }
  }
  return out;
}

namespace {
// Does wildcard `w` ("*.x.y") cover `h` (a name or another wildcard with at least as many labels)?
bool covers(std::string_view w, std::string_view h) {
  if (w.size() < 2 || w.substr(0, 2) != "*.") return false;
  std::string_view suffix = w.substr(1);  // ".x.y"
  if (h.size() > 1 && h.substr(0, 2) == "*.") h.remove_prefix(1);
  return h.size() > suffix.size() && h.substr(h.size() - suffix.size()) == suffix;
}
}  // namespace

bool hostnames_intersect(std::string_view a, std::string_view b) {
  return a == b || covers(a, b) || covers(b, a);
}

std::string clip(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  return std::string(s.substr(0, max - 3)) + "...";
}

}  // namespace latticeguard
