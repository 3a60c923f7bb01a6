// REF-09: at most one TargetGroupPolicy / IAMAuthPolicy / VpcAssociationPolicy per target, and
// one AccessLogPolicy per target and destination type. The controller keeps the oldest policy
// (creationTimestamp, then name) and marks the others Conflicted.
#include <tuple>

#include "rules/core/lattice.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kTargetGroupPolicy, kIAMAuthPolicy, kVpcAssociationPolicy,
                              kAccessLogPolicy};

std::string creation_timestamp(const Object& o) {
  const json* md = child(o.doc(), "metadata");
  return md ? str(*md, "creationTimestamp") : "";
}

// The controller's order (conflictResolutionSort). An object without a creationTimestamp has not
// been created yet (files, or the object under review), so it sorts after every created one.
auto order_key(const Object& o) {
  std::string ts = creation_timestamp(o);
  return std::make_tuple(ts.empty(), ts, o.name());
}

// "s3" / "logs" / "firehose": the service part of the destination ARN.
std::string destination_type(const Object& alp) {
  const json* spec = child(alp.doc(), "spec");
  std::string arn = spec ? str(*spec, "destinationArn") : "";
  size_t a = arn.find(':');
  size_t b = a == std::string::npos ? a : arn.find(':', a + 1);
  size_t c = b == std::string::npos ? b : arn.find(':', b + 1);
  return c == std::string::npos ? "" : arn.substr(b + 1, c - b - 1);
}

void check(const Object& policy, RuleContext& ctx) {
  const json* spec = child(policy.doc(), "spec");
  const json* t = spec ? child(*spec, "targetRef") : nullptr;
  if (!t || !t->is_object()) return;  // policy-targetref-valid
  std::optional<Kind> tk = find_kind(str(*t, "group"), str(*t, "kind"));
  if (!tk) return;
  const std::string name = str(*t, "name");
  const bool alp = policy.kind() == kAccessLogPolicy;
  const std::string dest = alp ? destination_type(policy) : "";
  const Object* first = nullptr;  // the accepted policy among the others
  const Object* later = nullptr;  // a policy the controller would put after this one
  for (const Object* other :
       ctx.cluster().referrers(edge::target(policy.kind(), *tk, policy.ns(), name))) {
    if (other->name() == policy.name() && other->ns() == policy.ns()) continue;
    if (alp && destination_type(*other) != dest) continue;
    if (order_key(*other) < order_key(policy)) {
      if (!first || order_key(*other) < order_key(*first)) first = other;
    } else if (!later || order_key(*other) < order_key(*later)) {
      later = other;
    }
  }
  std::string target = std::string(tk->kind) + " " + name;
  if (first) {
    ctx.report("/spec/targetRef", first->name() + " already targets " + target +
                                      (alp ? " (" + dest + " destination)" : "") +
                                      "; the controller marks this one Conflicted and ignores it");
  } else if (later && ctx.operation() == Operation::kUpdate) {
    ctx.report("/spec/targetRef",
               "updating the accepted policy while " + later->name() + " also targets " + target +
                   " puts it in Conflicted; remove " + later->name() + " first",
               Level::kWarn);
  }
}

}  // namespace

extern constinit const Rule kPolicyConflict{
    .id = "policy-conflict",
    .catalogue = "REF-09",
    .group = "references",
    .summary =
        "More than one policy of a kind targets the same object (AccessLogPolicy: per "
        "destination type)",
    .remediation =
        "Merge the settings into the existing policy, or delete it before creating "
        "the new one",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = kSubjects,
    .check = check,
};

}  // namespace latticeguard
