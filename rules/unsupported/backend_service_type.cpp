// UNSUP-04: Service types the controller cannot turn into a target group, checked on Services
// that a Lattice route uses or a ServiceExport exports.
#include "rules/core/lattice.h"
#include "rules/core/route_shape.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kService};
constexpr Kind kReads[] = {kHTTPRoute,     kGRPCRoute, kTLSRoute,
                           kServiceExport, kGateway,   kGatewayClass};

// "exported" or "used by HTTPRoute ns/name", or "" when Lattice does not use the Service.
std::string lattice_use(const Object& svc, RuleContext& ctx) {
  const ClusterView& v = ctx.cluster();
  for (const Object* r : v.referrers(edge::backend(kService, svc.ns(), svc.name()))) {
    if (is_route(r->kind()) && in_scope(v, *r, ctx.config())) {
      return "used by " + r->kind_name() + " " + clip(r->name(), 30);
    }
  }
  if (!v.referrers(edge::export_of(svc.ns(), svc.name())).empty()) return "exported";
  return "";
}

void check(const Object& svc, RuleContext& ctx) {
  const json* spec = child(svc.doc(), "spec");
  if (!spec) return;
  std::string type = str(*spec, "type");
  std::string policy = str(*spec, "ipFamilyPolicy");
  const json* families = child(*spec, "ipFamilies");
  bool dual = families && families->is_array() && families->size() > 1;
  bool headless = str(*spec, "clusterIP") == "None";
  if (type != "ExternalName" && !dual && policy != "RequireDualStack" &&
      policy != "PreferDualStack" && !headless) {
    return;
  }
  std::string use = lattice_use(svc, ctx);
  if (use.empty()) return;
  if (type == "ExternalName") {
    ctx.report("/spec/type", "ExternalName Service cannot be a VPC Lattice target (" + use + ")");
  }
  if (dual) {
    ctx.report("/spec/ipFamilies",
               "dual-stack Service is not supported by the Lattice controller (" + use + ")");
  } else if (policy == "RequireDualStack") {
    ctx.report("/spec/ipFamilyPolicy",
               "RequireDualStack Service is not supported by the Lattice controller (" + use + ")");
  } else if (policy == "PreferDualStack") {
    ctx.report("/spec/ipFamilyPolicy",
               "PreferDualStack becomes dual-stack on a dual-stack cluster, which Lattice rejects",
               Level::kWarn);
  }
  if (headless) {
    ctx.report(
        "/spec/clusterIP",
        "headless Service (clusterIP: None) is not supported as a Lattice backend (" + use + ")",
        Level::kWarn);
  }
}

}  // namespace

extern constinit const Rule kBackendServiceType{
    .id = "backend-service-type",
    .catalogue = "UNSUP-04",
    .group = "unsupported",
    .summary = "A Service used by Lattice is ExternalName, dual-stack or headless",
    .remediation =
        "Use a single-stack ClusterIP Service (ipFamilyPolicy: SingleStack) selecting "
        "the pods",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = kReads,
    .check = check,
};

}  // namespace latticeguard
