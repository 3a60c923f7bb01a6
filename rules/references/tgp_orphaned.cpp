// REF-10: a TargetGroupPolicy whose target no Lattice route or ServiceExport uses.
#include "rules/core/fix.h"
#include "rules/core/lattice.h"
#include "rules/core/rule.h"
#include "rules/core/target_group.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kTargetGroupPolicy};
constexpr Kind kReads[] = {kService, kServiceExport, kHTTPRoute, kGRPCRoute, kTLSRoute, kGateway};

void check(const Object& tgp, RuleContext& ctx) {
  const ClusterView& v = ctx.cluster();
  const json* spec = child(tgp.doc(), "spec");
  const json* t = spec ? child(*spec, "targetRef") : nullptr;
  if (!t) return;
  std::string kind = str(*t, "kind");
  std::string name = str(*t, "name");
  // A missing target is policy-targetref-valid's finding; say one thing per mistake.
  if (kind == "ServiceExport") {
    const Object* e = v.find(kServiceExport, tgp.ns(), name);
    if (!e) return;
    if (const std::string* a = e->annotation(kFederationAnnotation); !a || *a != kFederationValue) {
      ctx.report("/spec/targetRef/name",
                 "ServiceExport " + e->ns() + "/" + name +
                     " lacks the federation annotation, so no target group is built for it");
    }
    return;
  }
  if (kind != "Service") return;  // policy-targetref-valid
  if (!v.find(kService, tgp.ns(), name)) return;
  TargetUse u = service_use(v, ctx.config(), tgp.ns(), name);
  if (!u.known || !u.routes.empty() || !u.exports.empty()) return;
  ctx.report("/spec/targetRef/name", "no Lattice route or ServiceExport uses Service " + tgp.ns() +
                                         "/" + name + "; this policy configures no target group");
}

}  // namespace

extern constinit const Rule kTgpOrphaned{
    .id = "tgp-orphaned",
    .catalogue = "REF-10",
    .group = "references",
    .summary = "A TargetGroupPolicy targets a Service no Lattice route or ServiceExport uses",
    .remediation =
        "Reference the Service from a Lattice route or export it (with the federation "
        "annotation), or delete the policy",
    .default_action = Action::kWarn,
    .subjects = kSubjects,
    .reads = kReads,
    .check = check,
};

}  // namespace latticeguard
