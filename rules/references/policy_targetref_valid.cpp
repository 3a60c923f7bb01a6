// REF-08: a Lattice policy's targetRef names a kind that policy can attach to, in the policy's
// own namespace, and (closed world) an object that exists.
#include <algorithm>
#include <span>

#include "rules/core/lattice.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kTargetGroupPolicy, kIAMAuthPolicy, kVpcAssociationPolicy,
                              kAccessLogPolicy};
constexpr Kind kReads[] = {kService, kServiceExport, kGateway, kHTTPRoute, kGRPCRoute};

// The GroupKinds each policy handler accepts (policyhelper/policy.go, accesslogpolicy_controller).
constexpr Kind kTgpTargets[] = {kService, kServiceExport};
constexpr Kind kRouteOrGatewayTargets[] = {kGateway, kHTTPRoute, kGRPCRoute};
constexpr Kind kVapTargets[] = {kGateway};

std::span<const Kind> allowed_targets(Kind policy) {
  if (policy == kTargetGroupPolicy) return kTgpTargets;
  if (policy == kVpcAssociationPolicy) return kVapTargets;
  return kRouteOrGatewayTargets;
}

// "Gateway, HTTPRoute or GRPCRoute (group gateway.networking.k8s.io)".
std::string describe_allowed(std::span<const Kind> kinds) {
  auto group = [](const Kind& k) {
    return k.group.empty() ? std::string("group \"\"") : "group " + std::string(k.group);
  };
  bool one_group = std::all_of(kinds.begin(), kinds.end(),
                               [&](const Kind& k) { return k.group == kinds[0].group; });
  std::string out;
  for (size_t i = 0; i < kinds.size(); ++i) {
    if (i) out += i + 1 == kinds.size() ? " or " : ", ";
    out += kinds[i].kind;
    if (!one_group) out += " (" + group(kinds[i]) + ")";
  }
  return one_group ? out + " (" + group(kinds[0]) + ")" : out;
}

const Kind* find_allowed(std::span<const Kind> kinds, std::string_view group,
                         std::string_view kind) {
  for (const Kind& k : kinds) {
    if (k.kind == kind && k.group == group) return &k;
  }
  return nullptr;
}

void check(const Object& policy, RuleContext& ctx) {
  const json* spec = child(policy.doc(), "spec");
  const json* t = spec ? child(*spec, "targetRef") : nullptr;
  if (!t || !t->is_object()) {
    ctx.report("/spec", "targetRef is required; the policy attaches to nothing");
    return;
  }
  std::span<const Kind> allowed = allowed_targets(policy.kind());
  std::string kind = str(*t, "kind");
  std::string group = str(*t, "group");
  const Kind* target = nullptr;
  if (!child(*t, "group")) {
    // The CRDs require group; the kind alone tells which group was meant.
    for (const Kind& k : allowed) {
      if (k.kind == kind) target = &k;
    }
    std::optional<Fix> fix;
    if (target) {
      fix = Fix{.title = "make targetRef.group explicit",
                .ops = json::array({{{"op", "add"},
                                     {"path", "/spec/targetRef/group"},
                                     {"value", std::string(target->group)}}})};
    }
    ctx.report("/spec/targetRef",
               "targetRef.group is required by the CRD" +
                   (target ? "; set group: \"" + std::string(target->group) + "\"" : std::string()),
               Level::kPrimary, std::move(fix));
  } else {
    target = find_allowed(allowed, group, kind);
  }
  if (!target) {
    std::string gk = group.empty() ? kind : group + "/" + kind;
    ctx.report("/spec/targetRef/kind",
               "cannot target " + gk + "; use " + describe_allowed(allowed));
    return;
  }
  std::string ns = str(*t, "namespace");
  if (!ns.empty() && ns != policy.ns()) {
    ctx.report("/spec/targetRef/namespace",
               "targetRef.namespace " + ns + " differs from the policy namespace " + policy.ns() +
                   "; a policy only attaches to objects in its own namespace");
    return;
  }
  if (policy.kind() == kAccessLogPolicy && ns.empty() && policy.ns() != "default") {
    // accesslogpolicy_controller uses NamespaceOrDefault: unset means "default".
    ctx.report("/spec/targetRef",
               "targetRef.namespace is unset, which the controller reads as \"default\"; set it "
               "to " +
                   policy.ns());
    return;
  }
  std::string name = str(*t, "name");
  const ClusterView& v = ctx.cluster();
  if (name.empty() || !v.complete(*target) || v.find(*target, policy.ns(), name)) return;
  ctx.report("/spec/targetRef/name",
             std::string(target->kind) + " " + policy.ns() + "/" + name +
                 " does not exist; the policy stays in TargetNotFound until it does",
             Level::kWarn);
}

}  // namespace

extern constinit const Rule kPolicyTargetrefValid{
    .id = "policy-targetref-valid",
    .catalogue = "REF-08",
    .group = "references",
    .summary = "A Lattice policy's targetRef has a kind, group or namespace the policy cannot use",
    .remediation =
        "Target a kind the policy supports (TargetGroupPolicy: Service or "
        "ServiceExport; IAMAuthPolicy/AccessLogPolicy: Gateway, HTTPRoute, GRPCRoute; "
        "VpcAssociationPolicy: Gateway) in the policy's own namespace",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = kReads,
    .check = check,
};

}  // namespace latticeguard
