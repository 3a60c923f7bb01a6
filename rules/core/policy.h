// Which of several policies on one target the controller honours, and which target a policy
// names. Shared by the rules that reason about TargetGroupPolicies and IAMAuthPolicies.
//
//   const Object* tgp = accepted_policy(view.referrers(edge::target(kTargetGroupPolicy, ...)));
//
// Pure functions over objects from a ClusterView; thread-safe as the view is.
#pragma once

#include <span>
#include <string_view>

#include "rules/core/cluster_view.h"
#include "rules/core/object.h"

namespace latticeguard {

// The policy the controller accepts when several target one object: the oldest by
// metadata.creationTimestamp, then by name; the others are Conflicted and ignored. A policy
// without a timestamp (not yet created: lint files, admission CREATE) counts as the newest.
// nullptr for an empty list.
const Object* accepted_policy(std::span<const Object* const> policies);

// The Service a TargetGroupPolicy targets (targetRef group "" and kind Service, in the policy's
// namespace), or nullptr when it targets something else or the Service is not in the view.
const Object* policy_target_service(const ClusterView& v, const Object& policy);

}  // namespace latticeguard
