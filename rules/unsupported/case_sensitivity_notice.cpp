// UNSUP-07: Lattice matches paths case-sensitively, although some AWS pages say otherwise.
#include <algorithm>
#include <cctype>

#include "rules/core/lattice.h"
#include "rules/core/route_shape.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kHTTPRoute, kGRPCRoute};

bool has_letter(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return std::isalpha(c); });
}

// One notice per route, on the first match whose path (or gRPC service/method) has letters:
// "/" and "/2024" match the same way whatever the case rules are.
void check(const Object& route, RuleContext& ctx) {
  const json* rules = spec_array(route, "rules");
  for (size_t i = 0; rules && i < rules->size(); ++i) {
    const json* ms = child((*rules)[i], "matches");
    for (size_t j = 0; ms && ms->is_array() && j < ms->size(); ++j) {
      std::string mp = pointer_join(pointer_join(pointer_join("/spec/rules", i), "matches"), j);
      const json& m = (*ms)[j];
      std::string text;
      if (route.kind() == kHTTPRoute) {
        if (const json* p = child(m, "path")) text = str(*p, "value");
        mp += "/path";
      } else if (const json* meth = child(m, "method")) {
        text = str(*meth, "service") + str(*meth, "method");
        mp += "/method";
      }
      if (!has_letter(text)) continue;
      ctx.report(mp,
                 "VPC Lattice matches paths case-sensitively (some AWS docs say otherwise); "
                 "headers ignore case");
      return;
    }
  }
}

}  // namespace

extern constinit const Rule kCaseSensitivityNotice{
    .id = "case-sensitivity-notice",
    .catalogue = "UNSUP-07",
    .group = "unsupported",
    .summary =
        "Notice: Lattice path and gRPC method matches are case-sensitive, header matches "
        "are not",
    .remediation = "Match the exact case clients send, or add a rule per spelling",
    .default_action = Action::kAudit,
    .subjects = kSubjects,
    .reads = {},
    .check = check,
};

}  // namespace latticeguard
