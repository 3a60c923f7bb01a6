// REF-05: one route sends traffic to the same Service on two different ports.
#include <map>

#include "rules/core/lattice.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kHTTPRoute, kGRPCRoute};

void check(const Object& route, RuleContext& ctx) {
  // First port seen per Service; a later backendRef with another port shares its target group.
  std::map<std::pair<std::string, std::string>, int64_t> first;
  for (const BackendRef& b : backend_refs(route)) {
    if (b.kind != "Service" || !b.port) continue;
    auto [it, inserted] = first.emplace(std::make_pair(b.ns, b.name), *b.port);
    if (inserted || it->second == *b.port) continue;
    ctx.report(pointer_join(b.pointer, "port"),
               "Service " + b.ns + "/" + b.name + " is also used on port " +
                   std::to_string(it->second) +
                   " in this route; Lattice sends both to one target group (one port)");
  }
}

}  // namespace

extern constinit const Rule kBackendrefSameServiceMultiplePorts{
    .id = "backendref-same-service-multiple-ports",
    .catalogue = "REF-05",
    .group = "references",
    .summary = "A route uses one Service on two different ports; both share one target group",
    .remediation =
        "Create one Service per port (or one route per port) so each gets its own "
        "target group",
    .default_action = Action::kWarn,
    .subjects = kSubjects,
    .reads = {},
    .check = check,
};

}  // namespace latticeguard
