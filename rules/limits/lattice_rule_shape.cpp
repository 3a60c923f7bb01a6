// LIM-02: limits of one Lattice listener rule that Gateway API allows past: header matches,
// target groups, weights, path characters and lengths, header lengths, rule priorities.
#include <map>

#include "re2/re2.h"
#include "rules/core/lattice.h"
#include "rules/core/route_shape.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kHTTPRoute, kGRPCRoute};
constexpr size_t kMaxHeaderMatches = 5;
constexpr size_t kMaxTargetGroups = 10;
constexpr int64_t kMaxWeight = 999;
constexpr size_t kMaxPath = 128;
constexpr size_t kMaxHeaderName = 40;
constexpr size_t kMaxHeaderValue = 128;
constexpr int64_t kMaxPriority = 100;

const RE2& path_chars() {
  static const RE2 re(R"(/[a-zA-Z0-9@:%_+.~#?&/=-]*)");
  return re;
}

void check_path(const std::string& pointer, const std::string& path, RuleContext& ctx) {
  if (path.size() > kMaxPath) {
    ctx.report(pointer, "path is " + std::to_string(path.size()) +
                            " characters; VPC Lattice allows " + std::to_string(kMaxPath));
  } else if (!RE2::FullMatch(path, path_chars())) {
    ctx.report(pointer,
               "path \"" + clip(path) +
                   "\" has characters VPC Lattice rejects (allowed: a-z 0-9 @:%_+.~#?&/=-)");
  }
}

void check_headers(const json& match, const std::string& mp, RuleContext& ctx) {
  const json* headers = child(match, "headers");
  if (!headers || !headers->is_array()) return;
  if (headers->size() > kMaxHeaderMatches) {
    ctx.report(pointer_join(mp, "headers"), std::to_string(headers->size()) +
                                                " header matches; VPC Lattice allows " +
                                                std::to_string(kMaxHeaderMatches) + " per rule");
  }
  for (size_t k = 0; k < headers->size(); ++k) {
    const json& h = (*headers)[k];
    std::string hp = pointer_join(pointer_join(mp, "headers"), k);
    std::string name = str(h, "name"), value = str(h, "value");
    if (name.size() > kMaxHeaderName) {
      ctx.report(pointer_join(hp, "name"), "header name is " + std::to_string(name.size()) +
                                               " characters; VPC Lattice allows 1-40");
    }
    if (value.size() > kMaxHeaderValue) {
      ctx.report(pointer_join(hp, "value"), "header value is " + std::to_string(value.size()) +
                                                " characters; VPC Lattice allows 1-128");
    }
  }
}

void check_rule(const Object& route, const json& rule, const std::string& rp, RuleContext& ctx) {
  if (const json* ms = child(rule, "matches"); ms && ms->is_array()) {
    for (size_t j = 0; j < ms->size(); ++j) {
      const json& m = (*ms)[j];
      std::string mp = pointer_join(pointer_join(rp, "matches"), j);
      check_headers(m, mp, ctx);
      if (route.kind() == kHTTPRoute) {
        const json* path = child(m, "path");
        if (path && child(*path, "value") && str(*path, "type") != "RegularExpression") {
          check_path(mp + "/path/value", str(*path, "value"), ctx);
        }
      } else if (const json* method = child(m, "method")) {
        // GRPCRoute matches become the path /<service>/<method>.
        std::string svc = str(*method, "service"), meth = str(*method, "method");
        if (!svc.empty() && str(*method, "type", "Exact") == "Exact") {
          check_path(mp + "/method", "/" + svc + "/" + meth, ctx);
        }
      }
    }
  }
  const json* refs = child(rule, "backendRefs");
  if (!refs || !refs->is_array()) return;
  if (refs->size() > kMaxTargetGroups) {
    ctx.report(pointer_join(rp, "backendRefs"),
               std::to_string(refs->size()) +
                   " backendRefs; a VPC Lattice rule forwards to at most " +
                   std::to_string(kMaxTargetGroups) + " target groups");
  }
  for (size_t j = 0; j < refs->size(); ++j) {
    std::optional<int64_t> w = integer((*refs)[j], "weight");
    if (w && *w > kMaxWeight) {
      ctx.report(pointer_join(pointer_join(pointer_join(rp, "backendRefs"), j), "weight"),
                 "weight " + std::to_string(*w) +
                     " exceeds the VPC Lattice maximum of 999; scale "
                     "the weights down");
    }
  }
}

// application-networking.k8s.aws/rule-<i>-priority annotations.
void check_priorities(const Object& route, size_t rule_count, RuleContext& ctx) {
  static const RE2 kKey(R"(application-networking\.k8s\.aws/rule-(\d+)-priority)");
  static const RE2 kInt(R"(-?\d{1,9})");
  const json* md = child(route.doc(), "metadata");
  const json* ann = md ? child(*md, "annotations") : nullptr;
  if (!ann || !ann->is_object()) return;
  std::map<int64_t, std::string> used;  // priority -> first annotation
  for (auto& [key, val] : ann->items()) {
    size_t index = 0;
    if (!RE2::FullMatch(key, kKey, &index)) continue;
    std::string pointer = pointer_join("/metadata/annotations", key);
    std::string text = val.is_string() ? val.get<std::string>() : val.dump();
    if (index >= rule_count) {
      ctx.report(pointer,
                 "rule " + std::to_string(index) + " does not exist (the route has " +
                     std::to_string(rule_count) + " rules); the priority is ignored",
                 Level::kWarn);
      continue;
    }
    if (!RE2::FullMatch(text, kInt) || std::stoll(text) < 1) {
      ctx.report(pointer, "rule priority \"" + clip(text, 20) + "\" must be an integer 1-100");
      continue;
    }
    int64_t p = std::stoll(text);
    if (p > kMaxPriority) {
      ctx.report(pointer,
                 "rule priority " + std::to_string(p) +
                     " is above 100, the controller's priority table; use 1-100",
                 Level::kWarn);
    }
    auto [it, fresh] = used.emplace(p, key);
    if (!fresh) {
      ctx.report(pointer, "rule priority " + std::to_string(p) + " is already used by " +
                              clip(it->second, 60));
    }
  }
}

void check(const Object& route, RuleContext& ctx) {
  const json* rules = spec_array(route, "rules");
  size_t n = rules ? rules->size() : 0;
  for (size_t i = 0; i < n; ++i) {
    check_rule(route, (*rules)[i], pointer_join("/spec/rules", i), ctx);
  }
  check_priorities(route, n, ctx);
}

}  // namespace

extern constinit const Rule kLatticeRuleShape{
    .id = "lattice-rule-shape",
    .catalogue = "LIM-02",
    .group = "limits",
    .summary =
        "A route rule exceeds a VPC Lattice rule limit Gateway API allows (headers, "
        "backends, weights, paths, priorities)",
    .remediation =
        "Keep to 5 header matches and 10 backendRefs per rule, weights <= 999, paths "
        "<= 128 plain characters, priorities 1-100 and unique",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = {},
    .check = check,
};

}  // namespace latticeguard
