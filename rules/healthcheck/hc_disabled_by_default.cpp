// HC-07: target groups Lattice does not health-check by default (gRPC, HTTP2, TCP).
#include <set>

#include "rules/core/fix.h"
#include "rules/core/lattice.h"
#include "rules/core/rule.h"
#include "rules/core/target_group.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kService, kTargetGroupPolicy, kGRPCRoute, kTLSRoute};
constexpr Kind kReads[] = {kTargetGroupPolicy, kServiceExport, kHTTPRoute,   kGRPCRoute, kTLSRoute,
                           kGateway,           kDeployment,    kStatefulSet, kDaemonSet};

constexpr std::string_view kAdvice = "; unhealthy pods keep receiving traffic";

// "gRPC target group (GRPCRoute shop/greeter)" when the use turns checks off, else "".
std::string unchecked_use(const TargetUse& u) {
  if (u.grpc_by) return "gRPC target group (" + u.grpc_by->display() + ")";
  if (u.tls_by) return "TCP target group (" + u.tls_by->display() + ")";
  return "";
}

bool has_policy(const ClusterView& v, const Object& svc, const TargetUse& u) {
  if (!v.referrers(edge::target(kTargetGroupPolicy, kService, svc.ns(), svc.name())).empty()) {
    return true;
  }
  for (const Object* e : u.exports) {
    if (!v.referrers(edge::target(kTargetGroupPolicy, kServiceExport, e->ns(), e->name()))
             .empty()) {
      return true;
    }
  }
  return false;
}

void check_service(const Object& svc, RuleContext& ctx) {
  const ClusterView& v = ctx.cluster();
  if (!v.complete(kTargetGroupPolicy)) return;
  TargetUse u = service_use(v, ctx.config(), svc.ns(), svc.name());
  std::string what = unchecked_use(u);
  if (what.empty() || has_policy(v, svc, u)) return;
  std::string msg = what + " without health checks";
  ctx.report("/spec", msg.size() + kAdvice.size() <= 120 ? msg + std::string(kAdvice) : msg);
}

// A route whose backend Service is not in view: the finding has nowhere else to live.
void check_route(const Object& route, RuleContext& ctx) {
  const ClusterView& v = ctx.cluster();
  if (!v.complete(kTargetGroupPolicy)) return;
  std::set<std::pair<std::string, std::string>> seen;
  std::string kind = route.kind() == kGRPCRoute ? "gRPC" : "TCP";
  for (const BackendRef& b : backend_refs(route)) {
    if (b.kind != "Service" || !seen.emplace(b.ns, b.name).second) continue;
    if (v.find(kService, b.ns, b.name)) continue;  // the Service carries the finding
    if (!v.referrers(edge::target(kTargetGroupPolicy, kService, b.ns, b.name)).empty()) continue;
    std::string msg =
        kind + " target group for Service " + b.ns + "/" + b.name + " without health checks";
    ctx.report(b.pointer, msg.size() + kAdvice.size() <= 120 ? msg + std::string(kAdvice) : msg);
  }
}

// healthcheck_fix enables the check for TGPs whose own protocol turns it off; a gRPC/TCP use
// by a route or export needs the same two fields.
void add_enable(Fix& f, const Object& tgp) {
  json add = {{"enabled", true}, {"protocolVersion", "HTTP1"}};
  const json* spec = child(tgp.raw(), "spec");
  const json* hc = spec ? child(*spec, "healthCheck") : nullptr;
  for (json& op : f.ops) {
    if (op.value("path", "") == "/spec/healthCheck" && op["value"].is_object()) {
      for (auto& [k, val] : add.items()) {
        if (!op["value"].contains(k)) op["value"][k] = val;
      }
      return;
    }
  }
  if (!hc || !hc->is_object()) return;
  for (auto& [k, val] : add.items()) {
    bool present = hc->contains(k);
    for (const json& op : f.ops) present |= op.value("path", "") == "/spec/healthCheck/" + k;
    if (!present) {
      f.ops.push_back({{"op", "add"}, {"path", "/spec/healthCheck/" + k}, {"value", val}});
    }
  }
}

void check_policy(const Object& tgp, RuleContext& ctx) {
  const json* spec = child(tgp.doc(), "spec");
  if (!spec) return;
  const json* hc = child(*spec, "healthCheck");
  if (hc && child(*hc, "enabled")) return;  // an explicit choice either way
  std::string protocol = str(*spec, "protocol", "HTTP");
  std::string version = str(*spec, "protocolVersion", "HTTP1");
  std::string what;
  if (protocol == "TCP") {
    what = "TCP target group";
  } else if (version == "HTTP2" || version == "GRPC") {
    what = version + " target group";
  } else {
    TargetUse u = policy_use(ctx.cluster(), ctx.config(), tgp);
    what = unchecked_use(u);
  }
  if (what.empty()) return;
  std::optional<Fix> fix = healthcheck_fix(ctx.cluster(), tgp);
  if (fix) add_enable(*fix, tgp);
  ctx.report(hc ? "/spec/healthCheck" : "/spec",
             what + " has health checks off unless healthCheck.enabled is set", Level::kPrimary,
             std::move(fix));
}

void check(const Object& o, RuleContext& ctx) {
  if (o.kind() == kService) return check_service(o, ctx);
  if (o.kind() == kTargetGroupPolicy) return check_policy(o, ctx);
  check_route(o, ctx);
}

}  // namespace

extern constinit const Rule kHcDisabledByDefault{
    .id = "hc-disabled-by-default",
    .catalogue = "HC-07",
    .group = "healthcheck",
    .summary =
        "A gRPC, HTTP2 or TCP target group gets no health checks unless a policy enables them",
    .remediation =
        "Attach a TargetGroupPolicy with healthCheck.enabled: true (protocolVersion "
        "HTTP1, path from the readiness probe), or set enabled: false to opt out",
    .default_action = Action::kWarn,
    .subjects = kSubjects,
    .reads = kReads,
    .check = check,
};

}  // namespace latticeguard
