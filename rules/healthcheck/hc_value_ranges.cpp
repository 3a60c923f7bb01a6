// HC-04: TargetGroupPolicy health-check numbers and enums outside what VPC Lattice accepts.
#include <limits>

#include "rules/core/health.h"
#include "rules/core/lattice.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kTargetGroupPolicy};

struct Range {
  std::string_view key;
  int64_t lo, hi;
};
// TGP CRD minimum/maximum and the Lattice HealthCheckConfig API reference.
constexpr Range kRanges[] = {
    {"intervalSeconds", 5, 300},
    {"timeoutSeconds", 1, 120},
    {"healthyThresholdCount", 2, 10},
    {"unhealthyThresholdCount", 2, 10},
    {"port", 1, 65535},
};

struct Enum {
  std::string_view key, first, second;
};
constexpr Enum kEnums[] = {{"protocol", "HTTP", "HTTPS"}, {"protocolVersion", "HTTP1", "HTTP2"}};

std::string type_name(const json& j) {
  if (j.is_string()) return "the string \"" + j.get<std::string>() + "\"";
  if (j.is_number_float()) return "the number " + j.dump();
  if (j.is_boolean()) return "a boolean";
  if (j.is_array()) return "a list";
  if (j.is_object()) return "a mapping";
  return "null";
}

void check(const Object& tgp, RuleContext& ctx) {
  const json* hc = health_check_of(tgp);
  if (!hc) return;
  for (const Range& r : kRanges) {
    const json* j = child(*hc, r.key);
    if (!j) continue;
    std::string ptr = pointer_join("/spec/healthCheck", r.key);
    if (!j->is_number_integer()) {
      ctx.report(ptr, "must be an integer, not " + type_name(*j) +
                          (j->is_string() ? "; remove the quotes" : ""));
      continue;
    }
    // Unsigned values beyond int64 are out of every range; clamp before converting.
    int64_t n = j->is_number_unsigned() && j->get<uint64_t>() > uint64_t{INT64_MAX}
                    ? std::numeric_limits<int64_t>::max()
                    : j->get<int64_t>();
    if (n < r.lo || n > r.hi) {
      ctx.report(ptr, j->dump() + " is outside the VPC Lattice range " + std::to_string(r.lo) +
                          "-" + std::to_string(r.hi));
    }
  }
  for (const Enum& e : kEnums) {
    const json* j = child(*hc, e.key);
    if (!j) continue;
    std::string allowed = std::string(e.first) + " or " + std::string(e.second);
    std::string ptr = pointer_join("/spec/healthCheck", e.key);
    if (!j->is_string()) {
      ctx.report(ptr, "must be " + allowed + ", not " + type_name(*j));
    } else if (*j != e.first && *j != e.second) {
      ctx.report(ptr, "\"" + j->get<std::string>() + "\" is not a health-check " +
                          std::string(e.key) + "; use " + allowed);
    }
  }
  // Inferred from the Lattice API ("a valid URI, for example /path?query"): a warning only.
  if (const json* path = child(*hc, "path"); path && path->is_string()) {
    const std::string& p = path->get_ref<const std::string&>();
    if (!p.starts_with('/')) {
      ctx.report("/spec/healthCheck/path",
                 "\"" + p + "\" does not start with /; Lattice expects a URI path such as /health",
                 Level::kWarn);
    }
  }
}

}  // namespace

extern constinit const Rule kHcValueRanges{
    .id = "hc-value-ranges",
    .catalogue = "HC-04",
    .group = "healthcheck",
    .summary = "A TargetGroupPolicy health-check value is outside what VPC Lattice accepts",
    .remediation =
        "Use intervalSeconds 5-300, timeoutSeconds 1-120, threshold counts 2-10, port "
        "1-65535, protocol HTTP|HTTPS, protocolVersion HTTP1|HTTP2, a path starting /",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = {},
    .check = check,
};

}  // namespace latticeguard
