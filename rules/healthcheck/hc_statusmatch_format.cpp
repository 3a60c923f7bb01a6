// HC-06: healthCheck.statusMatch is not a list of HTTP codes and ranges Lattice accepts.
#include <re2/re2.h>

#include <charconv>

#include "rules/core/health.h"
#include "rules/core/lattice.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kTargetGroupPolicy};
constexpr std::string_view kPointer = "/spec/healthCheck/statusMatch";

// "200" -> 200; digits only (the caller checked); absurdly long numbers become out of range.
int64_t code(std::string_view digits) {
  int64_t n = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  return ec == std::errc() && p == digits.data() + digits.size() ? n : 1'000'000;
}

void check(const Object& tgp, RuleContext& ctx) {
  const json* hc = health_check_of(tgp);
  const json* sm = hc ? child(*hc, "statusMatch") : nullptr;
  if (!sm || !sm->is_string()) return;
  const std::string& s = sm->get_ref<const std::string&>();
  // The Lattice Matcher.httpCode pattern and length limits.
  static const RE2 kCharset("[0-9,-]+");
  if (!RE2::FullMatch(s, kCharset)) {
    ctx.report(std::string(kPointer),
               "\"" + s +
                   "\" is not a list of codes or ranges such as 200-299 or 200,204; "
                   "Lattice takes no regular expression");
    return;
  }
  if (s.size() < 3 || s.size() > 2000) {
    ctx.report(std::string(kPointer),
               "must be 3-2000 characters long (for example 200 or "
               "200-299), not " +
                   std::to_string(s.size()));
    return;
  }
  static const RE2 kElement("([0-9]+)(?:-([0-9]+))?");
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t next = s.find(',', pos);
    if (next == std::string::npos) next = s.size();
    std::string element = s.substr(pos, next - pos);
    std::string low, high;
    if (!RE2::FullMatch(element, kElement, &low, &high)) {
      ctx.report(std::string(kPointer),
                 "\"" + element + "\" is neither a code nor a range low-high");
      return;
    }
    int64_t lo = code(low), hi = high.empty() ? lo : code(high);
    if (lo > hi) {
      ctx.report(std::string(kPointer),
                 "range " + element + " is reversed; write the lower code first");
      return;
    }
    // The 200-499 bound is inferred (not in the Lattice documentation): a warning only.
    if (lo < 200 || hi > 499) {
      ctx.report(std::string(kPointer),
                 element + " is outside the HTTP codes 200-499 a health check can match",
                 Level::kWarn);
      return;
    }
    pos = next + 1;
  }
}

}  // namespace

extern constinit const Rule kHcStatusmatchFormat{
    .id = "hc-statusmatch-format",
    .catalogue = "HC-06",
    .group = "healthcheck",
    .summary = "healthCheck.statusMatch is not a list of HTTP codes and ranges Lattice accepts",
    .remediation =
        "Write codes, ranges and comma lists between 200 and 499, such as 200, "
        "200-299 or 200,204 (it is not a regular expression)",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = {},
    .check = check,
};

}  // namespace latticeguard
