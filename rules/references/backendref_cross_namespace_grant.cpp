// REF-04: a backendRef into another namespace needs a ReferenceGrant in that namespace. The
// Lattice controller does not enforce ReferenceGrants, so without this check any route can send
// traffic to any Service in the cluster.
#include "rules/core/lattice.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kHTTPRoute, kGRPCRoute, kTLSRoute};
constexpr Kind kReads[] = {kReferenceGrant, kGateway, kGatewayClass};

// Does a `to` entry of a grant cover the backend? A ServiceImport may be granted under the
// group the backendRef spells or the AWS group the controller resolves it as.
bool to_covers(const json& to, const BackendRef& b) {
  if (str(to, "kind") != b.kind) return false;
  std::string group = str(to, "group");
  bool group_ok =
      group == b.group || (b.kind == "ServiceImport" && (group.empty() || group == kLatticeGroup));
  if (!group_ok) return false;
  std::string name = str(to, "name");
  return name.empty() || name == b.name;
}

bool granted(const ClusterView& v, const Object& route, const BackendRef& b) {
  for (const Object* g :
       v.referrers(edge::grant_from(b.ns, kGatewayGroup, route.kind_name(), route.ns()))) {
    const json* spec = child(g->doc(), "spec");
    const json* to = spec ? child(*spec, "to") : nullptr;
    if (!to || !to->is_array()) continue;
    for (const json& t : *to) {
      if (to_covers(t, b)) return true;
    }
  }
  return false;
}

void check(const Object& route, RuleContext& ctx) {
  const ClusterView& v = ctx.cluster();
  if (!v.complete(kReferenceGrant)) return;  // grants not synced: cannot tell
  for (const BackendRef& b : backend_refs(route)) {
    if (b.ns == route.ns() || granted(v, route, b)) continue;
    ctx.report(pointer_join(b.pointer, "namespace"),
               "no ReferenceGrant in " + b.ns + " lets " + route.kind_name() + "s from " +
                   route.ns() + " use " + b.kind + " " + b.name);
  }
}

}  // namespace

extern constinit const Rule kBackendrefCrossNamespaceGrant{
    .id = "backendref-cross-namespace-grant",
    .catalogue = "REF-04",
    .group = "references",
    .summary = "A cross-namespace backendRef has no ReferenceGrant in the backend's namespace",
    .remediation =
        "Have the owners of the backend namespace create a ReferenceGrant from "
        "{group: gateway.networking.k8s.io, kind: <route kind>, namespace: <route "
        "namespace>} to the Service, or move the route next to the Service",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = kReads,
    .check = check,
};

}  // namespace latticeguard
