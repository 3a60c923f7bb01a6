// HC-02: a TargetGroupPolicy's health-check port is not where the pods are probed or listen.
#include "rules/core/health.h"
#include "rules/core/lattice.h"
#include "rules/core/policy.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kTargetGroupPolicy};
constexpr Kind kReads[] = {kService,   kDeployment, kStatefulSet, kDaemonSet, kReplicaSet,  kPod,
                           kHTTPRoute, kGRPCRoute,  kTLSRoute,    kGateway,   kGatewayClass};

// Whether any container of the workload's pods declares `port`; nullopt when none declares any
// (containerPort is informational in Kubernetes, so silence proves nothing).
std::optional<bool> declares_port(const Object& workload, int64_t port) {
  const json* ps = pod_spec(workload);
  const json* containers = ps ? child(*ps, "containers") : nullptr;
  if (!containers || !containers->is_array()) return std::nullopt;
  bool any = false;
  for (const json& c : *containers) {
    const json* ports = child(c, "ports");
    if (!ports || !ports->is_array()) continue;
    for (const json& p : *ports) {
      any = true;
      if (integer(p, "containerPort") == port) return true;
    }
  }
  return any ? std::optional<bool>(false) : std::nullopt;
}

// spec.ports[0].port: resolve_backing() without a port resolves the Service's first port.
int64_t first_service_port(const Object& svc) {
  const json* spec = child(svc.doc(), "spec");
  const json* ports = spec ? child(*spec, "ports") : nullptr;
  if (!ports || !ports->is_array() || ports->empty()) return 0;
  return integer((*ports)[0], "port").value_or(0);
}

void check(const Object& tgp, RuleContext& ctx) {
  const ClusterView& v = ctx.cluster();
  const Object* svc = policy_target_service(v, tgp);
  if (!svc || !health_check_enabled(v, *svc, &tgp, ctx.config())) return;
  std::optional<Backing> b = resolve_backing(v, *svc);
  if (!b) return;
  const int probe_port = b->probe ? b->probe_port : 0;  // 0: no httpGet probe, or unresolved
  const json* hc = health_check_of(tgp);
  const json* port_json = hc ? child(*hc, "port") : nullptr;
  const std::string workload = b->workload->display();
  if (!port_json) {
    if (probe_port == 0 || probe_port == b->target_port) return;
    ctx.report(hc ? "/spec/healthCheck" : "/spec",
               "Lattice checks the traffic port " + std::to_string(b->target_port) + " but the " +
                   b->probe_kind + " of " + workload + " uses port " + std::to_string(probe_port),
               Level::kWarn);
    return;
  }
  if (!port_json->is_number_integer()) return;  // hc-value-ranges reports the type
  const int64_t port = port_json->get<int64_t>();
  const std::string p = std::to_string(port);
  const int64_t service_port = first_service_port(*svc);
  // The classic mistake: the Service port instead of the pods' port.
  const bool service_port_mistake = port == service_port && service_port != b->target_port;
  if (probe_port != 0 && port != probe_port) {
    ctx.report("/spec/healthCheck/port",
               service_port_mistake ? p + " is the Service port; the pods listen on targetPort " +
                                          std::to_string(b->target_port) + " and are probed on " +
                                          std::to_string(probe_port)
                                    : p + " differs from the " + b->probe_kind + " port " +
                                          std::to_string(probe_port) + " of " + workload);
    return;
  }
  if (declares_port(*b->workload, port) == false) {
    ctx.report("/spec/healthCheck/port", service_port_mistake
                                             ? p + " is the Service port, not a containerPort of " +
                                                   workload + "; use targetPort " +
                                                   std::to_string(b->target_port)
                                             : p + " is not a containerPort of " + workload);
  }
}

}  // namespace

extern constinit const Rule kHcPortMatchesWorkload{
    .id = "hc-port-matches-workload",
    .catalogue = "HC-02",
    .group = "healthcheck",
    .summary = "A TargetGroupPolicy's health-check port is not the port the pods are probed on",
    .remediation =
        "Set healthCheck.port to the probe's container port, or remove it so Lattice "
        "checks the traffic port (the Service targetPort)",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = kReads,
    .check = check,
};

}  // namespace latticeguard
