#include "rules/core/target_group.h"

#include "rules/core/lattice.h"

namespace latticeguard {
namespace {

void add_export(TargetUse& u, const Object& e) {
  u.exports.push_back(&e);
  const json* spec = child(e.doc(), "spec");
  const json* ports = spec ? child(*spec, "exportedPorts") : nullptr;
  if (!ports || !ports->is_array()) return;
  for (const json& p : *ports) {
    std::string type = str(p, "routeType");
    if (type == "GRPC" && !u.grpc_by) u.grpc_by = &e;
    if (type == "TLS" && !u.tls_by) u.tls_by = &e;
  }
}

TargetUse unknown_use(bool known) {
  TargetUse u;
  u.known = known;
  return u;
}

}  // namespace

TargetUse service_use(const ClusterView& v, const Config& cfg, std::string_view ns,
                      std::string_view name) {
  TargetUse u;
  for (Kind k : {kHTTPRoute, kGRPCRoute, kTLSRoute, kServiceExport}) {
    if (!v.complete(k)) u.known = false;
  }
  for (const Object* r : v.referrers(edge::backend(kService, ns, name))) {
    if (!is_route(r->kind()) || !in_scope(v, *r, cfg)) continue;
    u.routes.push_back(r);
    if (r->kind() == kGRPCRoute && !u.grpc_by) u.grpc_by = r;
    if (r->kind() == kTLSRoute && !u.tls_by) u.tls_by = r;
  }
  for (const Object* e : v.referrers(edge::export_of(ns, name))) add_export(u, *e);
  return u;
}

TargetUse export_use(const Object& service_export) {
  TargetUse u;
  add_export(u, service_export);
  return u;
}

TargetUse policy_use(const ClusterView& v, const Config& cfg, const Object& tgp) {
  const json* spec = child(tgp.doc(), "spec");
  const json* t = spec ? child(*spec, "targetRef") : nullptr;
  if (!t) return unknown_use(false);
  std::string kind = str(*t, "kind");
  std::string name = str(*t, "name");
  if (kind == "Service") return service_use(v, cfg, tgp.ns(), name);
  if (kind == "ServiceExport") {
    if (const Object* e = v.find(kServiceExport, tgp.ns(), name)) return export_use(*e);
    return unknown_use(v.complete(kServiceExport));
  }
  return unknown_use(false);
}

}  // namespace latticeguard
