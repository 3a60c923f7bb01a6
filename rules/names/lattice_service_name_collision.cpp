// NAME-01: two Lattice routes that map to one Lattice service name.
#include "rules/core/lattice.h"
#include "rules/core/names.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kHTTPRoute, kGRPCRoute, kTLSRoute};
constexpr Kind kReads[] = {kHTTPRoute, kGRPCRoute, kTLSRoute, kGateway, kGatewayClass};

void check(const Object& route, RuleContext& ctx) {
  const ClusterView& v = ctx.cluster();
  std::string name = lattice_service_name(route);
  bool overridden = route.annotation(kServiceNameOverrideAnnotation) &&
                    !route.annotation(kServiceNameOverrideAnnotation)->empty();
  std::string ptr = overridden
                        ? "/metadata/annotations/" + pointer_escape(kServiceNameOverrideAnnotation)
                        : "/metadata/name";
  for (const Object* other : v.referrers(edge::attr(kLatticeServiceEdge, name))) {
    if (other == &route || ObjectKey::of(*other) == ObjectKey::of(route)) continue;
    if (!in_scope(v, *other, ctx.config())) continue;
    // Route names run long here by nature; keep the warning within the 120 characters the API
    // server shows, dropping the (repeated) service name first.
    std::string msg = "shares Lattice service name \"" + name + "\" with " + other->display();
    if (msg.size() > 120) msg = "shares its Lattice service name with " + other->display();
    ctx.report(ptr, msg);
  }
  if (lattice_service_name_truncated(route)) {
    ctx.report(
        "/metadata/name",
        "Lattice service name is truncated to \"" + name + "\" (route name 20, namespace 18 chars)",
        Level::kInfo);
  }
}

}  // namespace

extern constinit const Rule kLatticeServiceNameCollision{
    .id = "lattice-service-name-collision",
    .catalogue = "NAME-01",
    .group = "names",
    .summary = "Two Lattice routes map to the same VPC Lattice service name",
    .remediation =
        "Rename one route so the first 20 characters differ, or give it a unique "
        "application-networking.k8s.aws/service-name-override at creation",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = kReads,
    .check = check,
};

}  // namespace latticeguard
