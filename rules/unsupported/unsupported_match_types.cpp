// UNSUP-01: match types the controller cannot translate; any of them fails the whole route.
#include "rules/core/lattice.h"
#include "rules/core/route_shape.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kHTTPRoute, kGRPCRoute};

void check_headers(const json& match, const std::string& mp, RuleContext& ctx) {
  const json* headers = child(match, "headers");
  if (!headers || !headers->is_array()) return;
  for (size_t k = 0; k < headers->size(); ++k) {
    if (str((*headers)[k], "type") == "RegularExpression") {
      ctx.report(pointer_join(pointer_join(pointer_join(mp, "headers"), k), "type"),
                 "VPC Lattice has no regular-expression header match; the whole route fails");
    }
  }
}

void check_http(const json& m, const std::string& mp, RuleContext& ctx) {
  if (const json* q = child(m, "queryParams"); q && q->is_array() && !q->empty()) {
    ctx.report(mp + "/queryParams",
               "VPC Lattice cannot match query parameters; the whole route fails to build");
  }
  if (const json* path = child(m, "path"); path && str(*path, "type") == "RegularExpression") {
    ctx.report(mp + "/path/type",
               "VPC Lattice has no regular-expression path match; use PathPrefix or Exact");
  }
  if (str(m, "method") == "PATCH") {
    ctx.report(mp + "/method",
               "VPC Lattice rule methods do not list PATCH; this match may be rejected",
               Level::kWarn);
  }
}

void check_grpc(const json& m, const std::string& mp, RuleContext& ctx) {
  const json* method = child(m, "method");
  if (!method) return;
  if (str(*method, "type") == "RegularExpression") {
    ctx.report(mp + "/method/type",
               "VPC Lattice has no regular-expression gRPC method match; use Exact");
  }
  if (!str(*method, "method").empty() && str(*method, "service").empty()) {
    ctx.report(mp + "/method",
               "a gRPC method match needs method.service; the controller rejects the route");
  }
}

void check(const Object& route, RuleContext& ctx) {
  const json* rules = spec_array(route, "rules");
  if (!rules) return;
  for (size_t i = 0; i < rules->size(); ++i) {
    std::string rp = pointer_join("/spec/rules", i);
    const json* ms = child((*rules)[i], "matches");
    if (!ms || !ms->is_array()) continue;
    if (route.kind() == kHTTPRoute && ms->size() > 1) {
      ctx.report(rp + "/matches/1",
                 "rule has " + std::to_string(ms->size()) +
                     " matches; VPC Lattice allows one per rule: split it into " +
                     std::to_string(ms->size()) + " rules");
    }
    for (size_t j = 0; j < ms->size(); ++j) {
      std::string mp = pointer_join(rp + "/matches", j);
      check_headers((*ms)[j], mp, ctx);
      if (route.kind() == kHTTPRoute) {
        check_http((*ms)[j], mp, ctx);
      } else {
        check_grpc((*ms)[j], mp, ctx);
      }
    }
  }
}

}  // namespace

extern constinit const Rule kUnsupportedMatchTypes{
    .id = "unsupported-match-types",
    .catalogue = "UNSUP-01",
    .group = "unsupported",
    .summary =
        "A route uses a match VPC Lattice cannot express (several matches per rule, query "
        "params, regular expressions)",
    .remediation =
        "Use one match per rule (duplicate the rule per match), PathPrefix/Exact paths, "
        "Exact headers, and no queryParams",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = {},
    .check = check,
};

}  // namespace latticeguard
