// HC-03: a Lattice backend Service without a health-check path, whose pods do not answer `/`.
#include "rules/core/health.h"
#include "rules/core/lattice.h"
#include "rules/core/policy.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kService};
constexpr Kind kReads[] = {kTargetGroupPolicy, kServiceExport, kHTTPRoute,   kGRPCRoute,
                           kTLSRoute,          kDeployment,    kStatefulSet, kDaemonSet,
                           kReplicaSet,        kPod,           kGateway,     kGatewayClass};

bool lattice_backend(const ClusterView& v, const Object& svc, const Config& cfg) {
  for (const Object* r : v.referrers(edge::backend(kService, svc.ns(), svc.name()))) {
    if (in_scope(v, *r, cfg)) return true;
  }
  return !v.referrers(edge::export_of(svc.ns(), svc.name())).empty();
}

void check(const Object& svc, RuleContext& ctx) {
  const ClusterView& v = ctx.cluster();
  if (!lattice_backend(v, svc, ctx.config())) return;
  // Without every TargetGroupPolicy at hand, a missing path may be set by one we cannot see.
  if (!v.complete(kTargetGroupPolicy)) return;
  std::vector<const Object*> tgps =
      v.referrers(edge::target(kTargetGroupPolicy, kService, svc.ns(), svc.name()));
  for (const Object* t : tgps) {
    const json* hc = health_check_of(*t);
    if (hc && child(*hc, "path")) return;  // hc-path-matches-probe compares it
  }
  const Object* tgp = accepted_policy(tgps);
  if (!health_check_enabled(v, svc, tgp, ctx.config())) return;
  std::optional<Backing> b = resolve_backing(v, svc);
  if (!b || !b->probe || without_query(b->probe_path) == "/") return;
  ctx.report("/spec/ports/0", "Lattice will probe / but the pods answer " + b->probe_path + "; " +
                                  (tgp ? "set healthCheck.path in TargetGroupPolicy " + tgp->name()
                                       : std::string("add a TargetGroupPolicy")));
}

}  // namespace

extern constinit const Rule kHcDefaultPathNotServed{
    .id = "hc-default-path-not-served",
    .catalogue = "HC-03",
    .group = "healthcheck",
    .summary = "A Lattice backend Service has no health-check path while its pods do not answer /",
    .remediation =
        "Add a TargetGroupPolicy for the Service with healthCheck.path set to the "
        "probe path (latticeguard lint --fix fills an empty one from the probe)",
    .default_action = Action::kWarn,
    .subjects = kSubjects,
    .reads = kReads,
    .check = check,
};

}  // namespace latticeguard
