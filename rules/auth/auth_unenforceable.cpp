// AUTH-03: IAM auth that VPC Lattice cannot enforce on TLS passthrough.
#include "rules/core/lattice.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kIAMAuthPolicy, kTLSRoute};
constexpr Kind kReads[] = {kNamespace, kGateway, kGatewayClass};

void check(const Object& o, RuleContext& ctx) {
  if (o.kind() == kIAMAuthPolicy) {
    const json* spec = child(o.doc(), "spec");
    const json* t = spec ? child(*spec, "targetRef") : nullptr;
    if (!t || str(*t, "kind") != "TLSRoute") return;
    ctx.report("/spec/targetRef/kind",
               "IAMAuthPolicy cannot target a TLSRoute; the controller marks it Invalid and "
               "nothing is enforced");
    return;
  }
  if (is_production(ctx.cluster(), o.ns(), ctx.config()) != Tri::kYes) return;
  ctx.report("/spec",
             "TLS passthrough in a production namespace: Lattice auth policies can only allow "
             "anonymous principals",
             Level::kWarn);
}

}  // namespace

extern constinit const Rule kAuthUnenforceable{
    .id = "auth-unenforceable",
    .catalogue = "AUTH-03",
    .group = "auth",
    .summary =
        "IAM auth cannot apply to TLS passthrough: IAMAuthPolicy on a TLSRoute, or a "
        "production TLSRoute",
    .remediation =
        "Target the Gateway or an HTTPRoute/GRPCRoute; for TLS passthrough rely on "
        "mTLS in the workload and security groups instead of IAM auth",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = kReads,
    .check = check,
};

}  // namespace latticeguard
