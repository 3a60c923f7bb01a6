// REF-07: among the listeners a parentRef selects, at least one accepts the route's kind and
// namespace (allowedRoutes). Hostname intersection is hostname-listener-intersection's job.
#include "rules/core/lattice.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kHTTPRoute, kGRPCRoute, kTLSRoute};
constexpr Kind kReads[] = {kGateway, kGatewayClass, kNamespace};

std::string_view protocol_hint(std::string_view route_kind) {
  if (route_kind == "GRPCRoute") return "; GRPCRoute needs an HTTPS listener";
  if (route_kind == "TLSRoute") return "; TLSRoute needs a TLS listener";
  return "; HTTPRoute needs an HTTP or HTTPS listener";
}

void check_parent(const Object& route, const ResolvedParent& p, RuleContext& ctx) {
  const json* spec = child(p.gateway->doc(), "spec");
  const json* ls = spec ? child(*spec, "listeners") : nullptr;
  std::vector<size_t> matched = matched_listeners(*p.gateway, *p.ref);
  if (!ls || matched.empty()) return;  // no listener selected: parentref-unresolved
  const json* kind_ok = nullptr;       // first listener that accepts the kind
  for (size_t i : matched) {
    const json& l = (*ls)[i];
    if (!listener_allows_kind(l, route.kind_name())) continue;
    if (!kind_ok) kind_ok = &l;
    // kUnknown (the route's Namespace is not known): stay silent rather than guess.
    if (listener_allows_namespace(ctx.cluster(), l, p.ns, route.ns()) != Tri::kNo) return;
  }
  std::string gw = "Gateway " + p.ns + "/" + p.name;
  if (!kind_ok) {
    std::string subject = "no selected listener of " + gw + " accepts ";
    if (matched.size() == 1) {
      const json& l = (*ls)[matched[0]];
      subject = "listener " + str(l, "name") + " (" + str(l, "protocol") + ") of " + gw +
                " does not accept ";
    }
    ctx.report(p.pointer,
               subject + route.kind_name() + "s" + std::string(protocol_hint(route.kind_name())));
    return;
  }
  const json* ar = child(*kind_ok, "allowedRoutes");
  const json* nss = ar ? child(*ar, "namespaces") : nullptr;
  std::string from = nss ? str(*nss, "from", "Same") : "Same";
  ctx.report(p.pointer, "listener " + str(*kind_ok, "name") + " of " + gw +
                            " does not accept routes from namespace " + route.ns() +
                            " (from: " + from + ")");
}

void check(const Object& route, RuleContext& ctx) {
  for (const ResolvedParent& p : resolve_parents(ctx.cluster(), route)) {
    if (p.gateway && p.lattice != Tri::kNo) check_parent(route, p, ctx);
  }
}

}  // namespace

extern constinit const Rule kParentrefNotAllowedByListener{
    .id = "parentref-not-allowed-by-listener",
    .catalogue = "REF-07",
    .group = "references",
    .summary = "No listener a parentRef selects accepts the route's kind or namespace",
    .remediation =
        "Attach to a listener whose protocol or allowedRoutes.kinds accepts the route "
        "kind, and whose allowedRoutes.namespaces admits the route's namespace",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = kReads,
    .check = check,
};

}  // namespace latticeguard
