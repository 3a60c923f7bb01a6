// LIM-01: a route maps to one Lattice service; its rules, listeners and target groups count
// against per-service quotas the controller does not pre-validate.
#include <set>
#include <tuple>

#include "rules/core/lattice.h"
#include "rules/core/route_shape.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kHTTPRoute, kGRPCRoute, kTLSRoute};
constexpr Kind kReads[] = {kGateway, kGatewayClass};

// A positive integer option, else the default (the config loader does not know rule options).
size_t quota(const json& options, std::string_view key, size_t fallback) {
  std::optional<int64_t> v = integer(options, key);
  return v && *v > 0 ? static_cast<size_t>(*v) : fallback;
}

void check(const Object& route, RuleContext& ctx) {
  const json& opts = ctx.options();
  const size_t max_rules = quota(opts, "rulesPerListener", 10);
  const size_t max_listeners = quota(opts, "listenersPerService", 2);
  const size_t max_tgs = quota(opts, "targetGroupsPerService", 10);

  if (const json* rules = spec_array(route, "rules"); rules && rules->size() > max_rules) {
    ctx.report("/spec/rules", std::to_string(rules->size()) +
                                  " rules exceed the VPC Lattice quota of " +
                                  std::to_string(max_rules) + " rules per listener");
  }

  std::set<std::tuple<std::string, std::string, std::string>> listeners;
  for (const AttachedListener& a : lattice_listeners(ctx.cluster(), route)) {
    listeners.emplace(a.gateway->ns(), a.gateway->name(), str(*a.listener, "name"));
  }
  if (listeners.size() > max_listeners) {
    ctx.report("/spec/parentRefs", "route attaches to " + std::to_string(listeners.size()) +
                                       " listeners; VPC Lattice allows " +
                                       std::to_string(max_listeners) +
                                       " per service (set sectionName)");
  }

  std::set<std::string> groups;  // one target group per Service port, one per ServiceImport
  for (const BackendRef& b : backend_refs(route)) {
    std::string port = b.kind == "Service" && b.port ? std::to_string(*b.port) : "";
    groups.insert(b.kind + "/" + b.ns + "/" + b.name + ":" + port);
  }
  if (groups.size() > max_tgs) {
    ctx.report("/spec/rules", std::to_string(groups.size()) +
                                  " distinct backends exceed the VPC Lattice quota of " +
                                  std::to_string(max_tgs) + " target groups per service");
  }
}

}  // namespace

extern constinit const Rule kLatticeQuotaShape{
    .id = "lattice-quota-shape",
    .catalogue = "LIM-01",
    .group = "limits",
    .summary = "A route needs more rules, listeners or target groups than the Lattice quotas allow",
    .remediation =
        "Split the route, pin parentRefs to listeners with sectionName, or raise the "
        "account quota and the rule's options",
    .default_action = Action::kWarn,
    .subjects = kSubjects,
    .reads = kReads,
    .check = check,
};

}  // namespace latticeguard
