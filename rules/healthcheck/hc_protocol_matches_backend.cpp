// HC-08: the health check protocol does not match what the pods speak.
#include "rules/core/lattice.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kTargetGroupPolicy};
constexpr Kind kReads[] = {kService, kDeployment, kStatefulSet, kDaemonSet, kReplicaSet, kPod};

void check(const Object& tgp, RuleContext& ctx) {
  const ClusterView& v = ctx.cluster();
  const json* spec = child(tgp.doc(), "spec");
  const json* t = spec ? child(*spec, "targetRef") : nullptr;
  if (!t || str(*t, "kind") != "Service") return;
  const json* hc = child(*spec, "healthCheck");
  if (hc && child(*hc, "enabled") && !child(*hc, "enabled")->get<bool>()) return;
  const Object* svc = v.find(kService, tgp.ns(), str(*t, "name"));
  if (!svc) return;
  std::optional<Backing> b = resolve_backing(v, *svc);
  if (!b) return;  // no workload known: nothing to compare with
  bool explicit_proto = hc && child(*hc, "protocol");
  std::string hc_proto = hc ? str(*hc, "protocol", "HTTP") : "HTTP";
  std::string ptr = explicit_proto ? "/spec/healthCheck/protocol"
                    : hc           ? "/spec/healthCheck"
                                   : "/spec";
  if (!b->probe) {
    if (b->non_http_probe) {
      ctx.report(ptr,
                 "the " + b->workload->display() +
                     " probe is grpc/tcpSocket/exec; a Lattice health check (HTTP/HTTPS only) "
                     "cannot mirror it",
                 Level::kInfo);
    }
    return;
  }
  if (b->probe_scheme == "HTTPS" && hc_proto != "HTTPS") {
    bool reencrypt = str(*spec, "protocol") == "HTTPS";
    ctx.report(ptr, std::string(reencrypt ? "target group is HTTPS and " : "") + "the " +
                        b->probe_kind + " uses HTTPS, but the health check uses HTTP");
  } else if (b->probe_scheme != "HTTPS" && hc_proto == "HTTPS") {
    ctx.report(ptr, "health check uses HTTPS, but the " + b->probe_kind + " of " +
                        b->workload->display() + " uses HTTP");
  }
}

}  // namespace

extern constinit const Rule kHcProtocolMatchesBackend{
    .id = "hc-protocol-matches-backend",
    .catalogue = "HC-08",
    .group = "healthcheck",
    .summary = "A TargetGroupPolicy health check protocol differs from the pods' probe scheme",
    .remediation =
        "Set healthCheck.protocol to the probe's scheme (HTTPS for pods that only "
        "accept TLS)",
    .default_action = Action::kWarn,
    .subjects = kSubjects,
    .reads = kReads,
    .check = check,
};

}  // namespace latticeguard
