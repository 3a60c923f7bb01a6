// REF-06: every parentRef of a Lattice route resolves to a Lattice Gateway and, when it names a
// sectionName or port, to one of its listeners; parentRefs are distinct.
#include "rules/core/lattice.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kHTTPRoute, kGRPCRoute, kTLSRoute};
constexpr Kind kReads[] = {kGateway, kGatewayClass};

// "http, https" from the Gateway's listener names, shortened for the message.
std::string listener_names(const Object& gw) {
  const json* spec = child(gw.doc(), "spec");
  const json* ls = spec ? child(*spec, "listeners") : nullptr;
  std::string out;
  if (!ls || !ls->is_array()) return out;
  for (size_t i = 0; i < ls->size(); ++i) {
    if (i == 4) return out + ", ...";
    if (!out.empty()) out += ", ";
    out += str((*ls)[i], "name") + ":" + std::to_string(integer((*ls)[i], "port").value_or(0));
  }
  return out;
}

void check_listener_match(const ResolvedParent& p, RuleContext& ctx) {
  const json* section = child(*p.ref, "sectionName");
  std::optional<int64_t> port = integer(*p.ref, "port");
  if (!section && !port) return;
  if (!matched_listeners(*p.gateway, *p.ref).empty()) return;
  std::string want = section ? "named " + str(*p.ref, "sectionName") : "";
  if (port) want += (want.empty() ? "on port " : " on port ") + std::to_string(*port);
  // Blame the port when the sectionName alone would match.
  bool port_at_fault =
      port && (!section || !matched_listeners(*p.gateway, json{{"sectionName", *section}}).empty());
  ctx.report(pointer_join(p.pointer, port_at_fault ? "port" : "sectionName"),
             "Gateway " + p.ns + "/" + p.name + " has no listener " + want +
                 " (listeners: " + listener_names(*p.gateway) + ")");
}

// The CEL rules of the route CRDs: two parentRefs to the same parent must both set sectionName,
// and differently. Namespaces are compared after defaulting, which also catches a parent spelled
// once with and once without its namespace.
void check_distinct(const std::vector<ResolvedParent>& ps, RuleContext& ctx) {
  for (size_t j = 0; j < ps.size(); ++j) {
    for (size_t i = 0; i < j; ++i) {
      const json& a = *ps[i].ref;
      const json& b = *ps[j].ref;
      if (str(a, "group") != str(b, "group") || str(a, "kind") != str(b, "kind") ||
          ps[i].ns != ps[j].ns || ps[i].name != ps[j].name) {
        continue;
      }
      std::string sa = str(a, "sectionName"), sb = str(b, "sectionName");
      std::string other = "parentRefs[" + std::to_string(ps[i].index) + "]";
      if (sa.empty() != sb.empty()) {
        ctx.report(ps[j].pointer, "same parent as " + other +
                                      "; set sectionName on both parentRefs or on neither");
      } else if (sa == sb) {
        ctx.report(
            ps[j].pointer,
            "duplicates " + other + " (same parent and sectionName); parentRefs must be distinct");
      } else {
        continue;
      }
      break;
    }
  }
}

void check(const Object& route, RuleContext& ctx) {
  const ClusterView& v = ctx.cluster();
  std::vector<ResolvedParent> parents = resolve_parents(v, route);
  bool gateways_known = v.complete(kGateway);
  // A parent counts as resolved when its Gateway exists and is not provably someone else's
  // (an unknown class is Lattice here: the engine only runs route rules in Lattice scope).
  bool any_resolved = false, any_unknown = false;
  for (const ResolvedParent& p : parents) {
    if (p.gateway && p.lattice != Tri::kNo) any_resolved = true;
    if (!p.gateway && p.lattice == Tri::kUnknown && !gateways_known) any_unknown = true;
  }
  // With no resolvable parent the route is not programmed at all: that is a deny.
  Level level = any_resolved || any_unknown ? Level::kWarn : Level::kPrimary;
  for (const ResolvedParent& p : parents) {
    if (p.gateway) {
      if (p.lattice == Tri::kNo) {
        ctx.report(p.pointer,
                   "Gateway " + p.ns + "/" + p.name +
                       " is not a VPC Lattice Gateway; Lattice ignores this parentRef",
                   level);
      } else {
        check_listener_match(p, ctx);
      }
    } else if (p.lattice == Tri::kNo) {
      ctx.report(p.pointer,
                 "parent " + str(*p.ref, "group") + "/" + str(*p.ref, "kind") +
                     " is not a Gateway; VPC Lattice ignores this parentRef",
                 level);
    } else if (gateways_known) {
      ctx.report(p.pointer,
                 "Gateway " + p.ns + "/" + p.name +
                     " does not exist; the route is not programmed for this parent",
                 level);
    }
  }
  check_distinct(parents, ctx);
}

}  // namespace

extern constinit const Rule kParentrefUnresolved{
    .id = "parentref-unresolved",
    .catalogue = "REF-06",
    .group = "references",
    .summary = "A route's parentRef names no Lattice Gateway, no listener, or repeats another",
    .remediation =
        "Point parentRefs at an existing Gateway of the amazon-vpc-lattice class, use "
        "a sectionName/port of one of its listeners, and list each parent once",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = kReads,
    .check = check,
};

}  // namespace latticeguard
