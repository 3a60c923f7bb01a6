// NAME-02: the service-name-override annotation: valid Lattice name, set only at creation.
#include "rules/core/names.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kHTTPRoute, kGRPCRoute};

std::string override_of(const Object& o) {
  const std::string* a = o.annotation(kServiceNameOverrideAnnotation);
  return a ? *a : "";  // the controller treats an empty value as no override
}

void check(const Object& route, RuleContext& ctx) {
  const std::string ptr = "/metadata/annotations/" + pointer_escape(kServiceNameOverrideAnnotation);
  std::string now = override_of(route);
  if (!now.empty()) {
    // The controller's ValidateVPCLatticeServiceName (pkg/k8s/utils.go).
    if (std::string why = lattice_name_problem(now, 40, "svc-"); !why.empty()) {
      std::string msg = "service name override \"" + now + "\" " + why;
      ctx.report(ptr, msg.size() > 120 ? "service name override " + why : msg);
    }
  }
  if (ctx.operation() != Operation::kUpdate || !ctx.old_object()) return;
  std::string before = override_of(*ctx.old_object());
  if (before == now) return;
  std::string what = before.empty() ? "added"
                     : now.empty()  ? "removed"
                                    : "changed from \"" + before + "\"";
  ctx.report(now.empty() ? "/metadata/annotations" : ptr,
             "service name override " + what +
                 " after creation; the Lattice service cannot be renamed in place");
}

}  // namespace

extern constinit const Rule kServiceNameOverride{
    .id = "service-name-override",
    .catalogue = "NAME-02",
    .group = "names",
    .summary = "The service-name-override annotation is invalid or changed after creation",
    .remediation =
        "Use 3-40 characters of a-z, 0-9 and single '-' (not starting with svc-), set "
        "at creation; to rename, delete and recreate the route",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = {},
    .check = check,
};

}  // namespace latticeguard
