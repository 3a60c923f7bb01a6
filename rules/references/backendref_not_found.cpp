// REF-01: a route's backendRef names a Service or ServiceImport that does not exist.
#include "rules/core/lattice.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kHTTPRoute, kGRPCRoute, kTLSRoute};
constexpr Kind kReads[] = {kService, kServiceImport, kGateway, kGatewayClass};

void check(const Object& route, RuleContext& ctx) {
  const ClusterView& v = ctx.cluster();
  for (const BackendRef& b : backend_refs(route)) {
    Kind k = b.kind == "ServiceImport" ? kServiceImport : kService;
    if (b.kind != "Service" && b.kind != "ServiceImport") continue;  // backendref-invalid-kind
    if (!v.complete(k)) continue;  // open world: absence proves nothing
    if (v.find(k, b.ns, b.name)) continue;
    ctx.report(b.pointer, b.kind + " " + b.ns + "/" + b.name +
                              " does not exist; Lattice serves this backend as a fixed 500");
  }
  // A rule without backendRefs is programmed as a fixed 500 (HTTPRoute/GRPCRoute).
  if (route.kind() == kTLSRoute) return;
  const json* spec = child(route.doc(), "spec");
  const json* rules = spec ? child(*spec, "rules") : nullptr;
  if (!rules || !rules->is_array()) return;
  for (size_t i = 0; i < rules->size(); ++i) {
    const json* refs = child((*rules)[i], "backendRefs");
    if (!refs || (refs->is_array() && refs->empty())) {
      ctx.report(pointer_join("/spec/rules", i),
                 "rule has no backendRefs; Lattice answers every matching request with a fixed 500",
                 Level::kWarn);
    }
  }
}

}  // namespace

extern constinit const Rule kBackendrefNotFound{
    .id = "backendref-not-found",
    .catalogue = "REF-01",
    .group = "references",
    .summary = "A route's backendRef names a Service or ServiceImport that does not exist",
    .remediation = "Create the Service first (or fix the name/namespace); if the Service is "
                   "applied later in the same change, set this rule to warn",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = kReads,
    .check = check,
};

}  // namespace latticeguard
