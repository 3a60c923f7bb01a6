// UNSUP-02: the controller never reads filters or timeouts; the route is programmed without them.
#include "rules/core/lattice.h"
#include "rules/core/route_shape.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kHTTPRoute, kGRPCRoute};

// Filters whose loss changes where or how a request goes: deny. Header edits, extension
// filters and anything unknown: warn.
bool changes_routing(std::string_view type) {
  return type == "RequestRedirect" || type == "URLRewrite" || type == "RequestMirror" ||
         type == "CORS";
}

void check_filters(const json& owner, const std::string& pointer, RuleContext& ctx) {
  const json* fs = child(owner, "filters");
  if (!fs || !fs->is_array()) return;
  for (size_t k = 0; k < fs->size(); ++k) {
    std::string type = str((*fs)[k], "type", "?");
    std::string fp = pointer_join(pointer_join(pointer, "filters"), k);
    if (changes_routing(type)) {
      ctx.report(fp, clip(type, 30) +
                         " filter is not supported by VPC Lattice; requests are "
                         "routed as if it were absent");
    } else {
      ctx.report(fp,
                 clip(type, 30) +
                     " filter is ignored by VPC Lattice; the route works "
                     "without it",
                 Level::kWarn);
    }
  }
}

void check(const Object& route, RuleContext& ctx) {
  const json* rules = spec_array(route, "rules");
  if (!rules) return;
  for (size_t i = 0; i < rules->size(); ++i) {
    const json& rule = (*rules)[i];
    std::string rp = pointer_join("/spec/rules", i);
    check_filters(rule, rp, ctx);
    if (const json* refs = child(rule, "backendRefs"); refs && refs->is_array()) {
      for (size_t j = 0; j < refs->size(); ++j) {
        check_filters((*refs)[j], pointer_join(rp + "/backendRefs", j), ctx);
      }
    }
    if (route.kind() == kHTTPRoute && child(rule, "timeouts")) {
      ctx.report(rp + "/timeouts",
                 "timeouts are ignored by VPC Lattice; its own request timeouts "
                 "apply",
                 Level::kWarn);
    }
  }
}

}  // namespace

extern constinit const Rule kIgnoredFiltersAndTimeouts{
    .id = "ignored-filters-and-timeouts",
    .catalogue = "UNSUP-02",
    .group = "unsupported",
    .summary = "Route filters and timeouts are silently dropped by the VPC Lattice controller",
    .remediation =
        "Move redirects, rewrites, mirroring and CORS into the application or a proxy; "
        "remove filters and timeouts Lattice cannot apply",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = {},
    .check = check,
};

}  // namespace latticeguard
