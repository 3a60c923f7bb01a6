// Safe fixes: the mutating webhook's patches and `lint --fix`, from one place.
//
//   std::vector<Fix> fixes = safe_fixes(view, obj, config, Operation::kCreate, findings);
//   Result<json> fixed = apply_fixes(obj.raw(), fixes);
//   json patch = make_patch(obj.raw(), *fixed);   // RFC 6902, "~1" escaping by nlohmann
//
// Only fields the user left empty are filled (DESIGN §4): a route's default hostname on CREATE,
// a TargetGroupPolicy's explicit targetRef.group and health check taken from the pods' probe,
// a ServiceExport's federation annotation. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "rules/core/cluster_view.h"
#include "rules/core/config.h"
#include "rules/core/finding.h"
#include "rules/core/result.h"
#include "rules/core/rule.h"

namespace latticeguard {

inline constexpr std::string_view kFederationAnnotation =
    "application-networking.k8s.aws/federation";
inline constexpr std::string_view kFederationValue = "amazon-vpc-lattice";

// The health check a TargetGroupPolicy should carry, derived from the probe of the pods behind
// its target Service (lattice-rules.md §7.2). Only fields absent from the TGP are in the Fix.
// nullopt when there is nothing to fill or no probe is known.
std::optional<Fix> healthcheck_fix(const ClusterView& v, const Object& tgp);
// The ServiceExport federation annotation, when missing.
std::optional<Fix> federation_fix(const Object& export_obj);
// The default hostname for a Lattice HTTPRoute/GRPCRoute without hostnames.
std::optional<Fix> hostname_fix(const ClusterView& v, const Object& route, const Config& cfg);
// Renders defaultHostname.template; empty when the result is not a valid RFC 1123 name.
std::string render_hostname(const Config& cfg, std::string_view route, std::string_view ns);
bool valid_hostname(std::string_view h);  // RFC 1123, <= 253 chars, labels <= 63

// Every safe fix for the object: the mutations above plus fixes attached to `findings`.
std::vector<Fix> safe_fixes(const ClusterView& v, const Object& o, const Config& cfg,
                            Operation op, std::span<const Finding> findings);

// Applies fixes in order to a copy of `doc`; a fix whose operation cannot apply is skipped.
json apply_fixes(const json& doc, std::span<const Fix> fixes);
// RFC 6902 patch from `before` to `after` (empty array when equal).
json make_patch(const json& before, const json& after);

}  // namespace latticeguard
