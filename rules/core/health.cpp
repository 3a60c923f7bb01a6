#include "rules/core/health.h"

#include "rules/core/lattice.h"

namespace latticeguard {

const json* health_check_of(const Object& tgp) {
  const json* spec = child(tgp.doc(), "spec");
  const json* hc = spec ? child(*spec, "healthCheck") : nullptr;
  return hc && hc->is_object() ? hc : nullptr;
}

bool health_check_enabled(const ClusterView& v, const Object& service, const Object* tgp,
                          const Config& cfg) {
  const json* spec = tgp ? child(tgp->doc(), "spec") : nullptr;
  if (const json* hc = tgp ? health_check_of(*tgp) : nullptr) {
    if (const json* e = child(*hc, "enabled"); e && e->is_boolean()) return e->get<bool>();
  }
  if (spec && str(*spec, "protocol") == "TCP") return false;
  if (std::string version = spec ? str(*spec, "protocolVersion") : ""; !version.empty()) {
    return version == "HTTP1";
  }
  bool http = false, other = false;
  for (const Object* r : v.referrers(edge::backend(kService, service.ns(), service.name()))) {
    if (!in_scope(v, *r, cfg)) continue;
    (r->kind() == kHTTPRoute ? http : other) = true;
  }
  return http || !other;
}

std::string_view without_query(std::string_view path) { return path.substr(0, path.find('?')); }

}  // namespace latticeguard
