// AUTH-01: a Lattice route (or Gateway) in a production namespace has auth type NONE.
#include <algorithm>

#include "rules/core/lattice.h"
#include "rules/core/policy.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

// IAMAuthPolicy is a subject so admission sends its DELETEs here; the engine's removal check
// then re-runs this rule on the routes the policy covered (Engine::check_removal).
constexpr Kind kSubjects[] = {kGateway, kGRPCRoute, kHTTPRoute, kIAMAuthPolicy};
constexpr Kind kReads[] = {kNamespace, kIAMAuthPolicy, kGateway, kGatewayClass};
constexpr std::string_view kStandalone = "application-networking.k8s.aws/standalone";

// An IAMAuthPolicy in the target's namespace that the controller would accept covers it; the
// Conflicted ones (all but the oldest) switch nothing to AWS_IAM.
bool covered(const ClusterView& v, Kind k, std::string_view ns, std::string_view name) {
  const Object* p = accepted_policy(v.referrers(edge::target(kIAMAuthPolicy, k, ns, name)));
  if (!p) return false;
  const json* t = child(p->doc(), "spec");
  t = t ? child(*t, "targetRef") : nullptr;
  return t && str(*t, "group") == kGatewayGroup && str(*t, "namespace", ns) == ns;
}

void check_route(const Object& route, RuleContext& ctx) {
  const ClusterView& v = ctx.cluster();
  if (covered(v, route.kind(), route.ns(), route.name())) return;
  std::vector<const Object*> gateways;
  for (const ResolvedParent& p : resolve_parents(v, route)) {
    if (p.lattice == Tri::kNo) continue;
    if (!p.gateway) {
      if (!v.complete(kGateway)) return;  // a Gateway we cannot see may carry the policy
      continue;                           // no such Gateway: the route is not attached there
    }
    gateways.push_back(p.gateway);
  }
  // The route's annotation wins; otherwise any standalone parent makes the route standalone.
  const std::string* own = route.annotation(kStandalone);
  bool standalone = own && *own == "true";
  for (const Object* gw : gateways) {
    const std::string* a = gw->annotation(kStandalone);
    if (!own && a && *a == "true") standalone = true;
  }
  if (!standalone && !gateways.empty() &&
      std::all_of(gateways.begin(), gateways.end(),
                  [&](const Object* gw) { return covered(v, kGateway, gw->ns(), gw->name()); })) {
    return;
  }
  // The namespace is the subject's own (and may be 63 characters): leave it out so the message
  // always fits an admission warning.
  ctx.report("/metadata/namespace",
             standalone ? "standalone " + route.kind_name() +
                              " in a production namespace has auth type NONE; attach an "
                              "IAMAuthPolicy"
                        : route.kind_name() +
                              " in a production namespace is open to all VPCs in the service "
                              "network (auth type NONE); add an IAMAuthPolicy");
}

void check(const Object& o, RuleContext& ctx) {
  if (o.kind() == kIAMAuthPolicy) return;  // judged on the routes it covers
  const ClusterView& v = ctx.cluster();
  if (is_production(v, o.ns(), ctx.config()) != Tri::kYes) return;
  if (!v.complete(kIAMAuthPolicy)) return;  // a policy we cannot see may cover it
  if (o.kind() != kGateway) {
    check_route(o, ctx);
  } else if (!covered(v, kGateway, o.ns(), o.name())) {
    ctx.report("/metadata/namespace",
               "Gateway in a production namespace: its service network has auth type NONE; "
               "attach an IAMAuthPolicy",
               Level::kWarn);
  }
}

}  // namespace

extern constinit const Rule kAuthNoneInProduction{
    .id = "auth-none-in-production",
    .catalogue = "AUTH-01",
    .group = "auth",
    .summary = "A Lattice route in a production namespace is not covered by an IAMAuthPolicy",
    .remediation =
        "Attach an IAMAuthPolicy to the route, or to every parent Gateway of a "
        "route that is not standalone; keep the policy while the route exists",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = kReads,
    .check = check,
};

}  // namespace latticeguard
