// NAME-03: a Lattice Gateway's name is the service network's name (or id).
#include <re2/re2.h>

#include "rules/core/lattice.h"
#include "rules/core/names.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kGateway, kServiceNetwork};
constexpr Kind kReads[] = {kGateway, kGatewayClass};

// VPC Lattice service network names (CloudFormation AWS::VpcLattice::ServiceNetwork Name).
std::string invalid_reason(std::string_view name) {
  static const RE2 kId("sn-[0-9a-z]{17}");
  if (RE2::FullMatch(name, kId)) return "";  // a service network id is accepted as well
  return lattice_name_problem(name, 63, "servicenetwork-");
}

void check(const Object& o, RuleContext& ctx) {
  if (std::string why = invalid_reason(o.name()); !why.empty()) {
    ctx.report("/metadata/name", "\"" + o.name() +
                                     "\" is not a valid VPC Lattice service "
                                     "network name: it " +
                                     why);
  }
  if (o.kind() != kGateway) return;
  const ClusterView& v = ctx.cluster();
  for (const Object* other : v.referrers(edge::attr(kGatewayNameEdge, o.name()))) {
    if (other->kind() != kGateway || other->ns() == o.ns()) continue;
    if (!in_scope(v, *other, ctx.config())) continue;
    ctx.report("/metadata/name",
               other->display() + " has the same name: both map to one service network",
               Level::kWarn);
  }
}

}  // namespace

extern constinit const Rule kGatewayServiceNetworkName{
    .id = "gateway-service-network-name",
    .catalogue = "NAME-03",
    .group = "names",
    .summary = "A Lattice Gateway's name is not a valid service network name, or is shared",
    .remediation =
        "Name the Gateway after an existing service network (3-63 chars of a-z, 0-9 "
        "and single '-') or use its sn- id; keep Gateway names unique across namespaces",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = kReads,
    .check = check,
};

}  // namespace latticeguard
