// REF-02: a route's backendRef kind is one VPC Lattice can serve (Service or ServiceImport).
#include "rules/core/lattice.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kHTTPRoute, kGRPCRoute, kTLSRoute};

std::string group_kind(const BackendRef& b) {
  return b.group.empty() ? b.kind : b.group + "/" + b.kind;
}

void check(const Object& route, RuleContext& ctx) {
  for (const BackendRef& b : backend_refs(route)) {
    if (b.kind == "Service" && b.group.empty()) continue;
    if (b.kind == "ServiceImport") {
      // The controller checks only the kind string and resolves any group as its own type.
      if (b.group.empty() || b.group == kLatticeGroup) continue;
      ctx.report(pointer_join(b.pointer, "group"),
                 "ServiceImport group " + b.group +
                     " is ignored; the controller resolves the AWS ServiceImport of that name",
                 Level::kWarn);
      continue;
    }
    ctx.report(b.pointer,
               "backend kind " + group_kind(b) +
                   " is not supported; VPC Lattice routes only to Service or ServiceImport");
  }
}

}  // namespace

extern constinit const Rule kBackendrefInvalidKind{
    .id = "backendref-invalid-kind",
    .catalogue = "REF-02",
    .group = "references",
    .summary = "A route's backendRef kind is not a Service or ServiceImport",
    .remediation =
        "Point the backendRef at a Service (group \"\") or a ServiceImport that fronts "
        "the workload",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = {},
    .check = check,
};

}  // namespace latticeguard
