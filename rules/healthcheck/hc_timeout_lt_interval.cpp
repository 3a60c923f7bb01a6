// HC-05: a health check timeout that is not shorter than its interval.
#include "rules/core/lattice.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kTargetGroupPolicy};
// Controller defaults (target_group_manager.go getDefaultHealthCheckConfig).
constexpr int64_t kDefaultInterval = 30;
constexpr int64_t kDefaultTimeout = 5;

void check(const Object& tgp, RuleContext& ctx) {
  const json* spec = child(tgp.doc(), "spec");
  const json* hc = spec ? child(*spec, "healthCheck") : nullptr;
  if (!hc) return;
  if (const json* en = child(*hc, "enabled"); en && en->is_boolean() && !en->get<bool>()) return;
  std::optional<int64_t> interval = integer(*hc, "intervalSeconds");
  std::optional<int64_t> timeout = integer(*hc, "timeoutSeconds");
  if (!interval && !timeout) return;
  int64_t i = interval.value_or(kDefaultInterval);
  int64_t t = timeout.value_or(kDefaultTimeout);
  if (t < i) return;
  std::string what = "timeout " + std::to_string(t) + "s" + (timeout ? "" : " (default)") +
                     " is not shorter than the interval " + std::to_string(i) + "s" +
                     (interval ? "" : " (default)") + "; checks overlap";
  ctx.report(timeout ? "/spec/healthCheck/timeoutSeconds" : "/spec/healthCheck/intervalSeconds",
             what);
}

}  // namespace

extern constinit const Rule kHcTimeoutLtInterval{
    .id = "hc-timeout-lt-interval",
    .catalogue = "HC-05",
    .group = "healthcheck",
    .summary = "A TargetGroupPolicy health check timeout is not shorter than its interval",
    .remediation =
        "Set healthCheck.timeoutSeconds below intervalSeconds (defaults: 5s timeout, "
        "30s interval)",
    .default_action = Action::kWarn,
    .subjects = kSubjects,
    .reads = {},
    .inferred = true,
    .check = check,
};

}  // namespace latticeguard
