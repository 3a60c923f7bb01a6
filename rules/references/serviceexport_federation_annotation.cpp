// REF-11: a ServiceExport without the federation annotation is ignored by the controller.
#include "rules/core/fix.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kServiceExport};

void check(const Object& e, RuleContext& ctx) {
  const std::string* a = e.annotation(kFederationAnnotation);
  if (a && *a == kFederationValue) return;
  std::optional<Fix> fix = federation_fix(e);
  if (a) {
    ctx.report("/metadata/annotations/" + pointer_escape(kFederationAnnotation),
               "federation annotation is \"" + *a + "\", not \"" + std::string(kFederationValue) +
                   "\"; the controller ignores this export",
               Level::kPrimary, std::move(fix));
    return;
  }
  ctx.report("/metadata",
             "missing annotation " + std::string(kFederationAnnotation) + ": " +
                 std::string(kFederationValue) + "; the controller ignores this export",
             Level::kPrimary, std::move(fix));
}

}  // namespace

extern constinit const Rule kServiceexportFederationAnnotation{
    .id = "serviceexport-federation-annotation",
    .catalogue = "REF-11",
    .group = "references",
    .summary = "A ServiceExport lacks the federation annotation and is silently ignored",
    .remediation =
        "Add annotation application-networking.k8s.aws/federation: amazon-vpc-lattice "
        "(lint --fix and the mutating webhook add it)",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = {},
    .check = check,
};

}  // namespace latticeguard
