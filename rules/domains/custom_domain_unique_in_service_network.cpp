// DOM-03: two routes in one service network must not share a custom domain (hostnames[0]).
#include <set>

#include "rules/core/lattice.h"
#include "rules/core/route_shape.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kHTTPRoute, kGRPCRoute, kTLSRoute};
constexpr Kind kReads[] = {kHTTPRoute, kGRPCRoute, kTLSRoute, kGateway, kGatewayClass};

// Does `other` attach to a Lattice (or possibly Lattice) Gateway named `gateway`?
bool attaches_to(const ClusterView& v, const Object& other, std::string_view gateway) {
  for (const ResolvedParent& p : resolve_parents(v, other)) {
    if (p.name == gateway && p.lattice != Tri::kNo) return true;
  }
  return false;
}

void check(const Object& route, RuleContext& ctx) {
  std::vector<std::string> hosts = route_hostnames(route);
  if (hosts.empty()) return;
  const ClusterView& v = ctx.cluster();
  std::set<std::string> gateways;  // a service network is named after its Gateway
  for (const ResolvedParent& p : resolve_parents(v, route)) {
    if (p.lattice != Tri::kNo) gateways.insert(p.name);
  }
  std::set<const Object*> reported;
  for (const std::string& gw : gateways) {
    std::string key = edge::attr("custom-domain", edge::custom_domain_key(gw, hosts[0]));
    for (const Object* other : v.referrers(key)) {
      if (other->kind() == route.kind() && other->ns() == route.ns() &&
          other->name() == route.name()) {
        continue;
      }
      if (!is_route(other->kind()) || reported.count(other)) continue;
      if (!attaches_to(v, *other, gw) || !in_scope(v, *other, ctx.config())) continue;
      reported.insert(other);
      ctx.report("/spec/hostnames/0", "custom domain also used by " + other->kind_name() + " " +
                                          clip(other->ns(), 16) + "/" + clip(other->name(), 28) +
                                          " in service network " + clip(gw, 16));
    }
  }
}

}  // namespace

extern constinit const Rule kCustomDomainUniqueInServiceNetwork{
    .id = "custom-domain-unique-in-service-network",
    .catalogue = "DOM-03",
    .group = "domains",
    .summary = "Two routes in one service network must not share a custom domain (hostnames[0])",
    .remediation =
        "Give each route its own first hostname, or merge the routes into one with "
        "several rules",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = kReads,
    .check = check,
};

}  // namespace latticeguard
