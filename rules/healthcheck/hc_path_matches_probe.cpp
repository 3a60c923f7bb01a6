// HC-01: a TargetGroupPolicy's effective health-check path differs from the pods' probe path.
#include "rules/core/fix.h"
#include "rules/core/health.h"
#include "rules/core/lattice.h"
#include "rules/core/policy.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kTargetGroupPolicy};
constexpr Kind kReads[] = {kService,   kDeployment, kStatefulSet, kDaemonSet, kReplicaSet,  kPod,
                           kHTTPRoute, kGRPCRoute,  kTLSRoute,    kGateway,   kGatewayClass};

void check(const Object& tgp, RuleContext& ctx) {
  const ClusterView& v = ctx.cluster();
  const Object* svc = policy_target_service(v, tgp);
  if (!svc || !health_check_enabled(v, *svc, &tgp, ctx.config())) return;
  std::optional<Backing> b = resolve_backing(v, *svc);
  if (!b || !b->probe) return;  // no workload or no httpGet probe: nothing to compare with
  std::string_view probe_path = without_query(b->probe_path);
  const json* hc = health_check_of(tgp);
  const json* path = hc ? child(*hc, "path") : nullptr;
  if (path && path->is_string()) {
    const std::string& p = path->get_ref<const std::string&>();
    if (without_query(p) == probe_path) return;
    ctx.report("/spec/healthCheck/path", p + " differs from the " + b->probe_kind + " path " +
                                             b->probe_path + " of " + b->workload->display() +
                                             "; every target stays unhealthy");
    return;
  }
  if (probe_path == "/") return;
  ctx.report(hc ? "/spec/healthCheck" : "/spec",
             "Lattice probes the default path / but the " + b->probe_kind + " of " +
                 b->workload->display() + " uses " + b->probe_path,
             Level::kWarn, healthcheck_fix(v, tgp));
}

}  // namespace

extern constinit const Rule kHcPathMatchesProbe{
    .id = "hc-path-matches-probe",
    .catalogue = "HC-01",
    .group = "healthcheck",
    .summary = "A TargetGroupPolicy's health-check path differs from the probe path of the pods",
    .remediation =
        "Set healthCheck.path to the path of the readiness probe (latticeguard lint "
        "--fix fills it from the probe)",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = kReads,
    .check = check,
};

}  // namespace latticeguard
