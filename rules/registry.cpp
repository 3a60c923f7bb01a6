#include "rules/registry.h"

#include <algorithm>
#include <utility>

namespace latticeguard {

extern const std::pair<std::string_view, std::string_view> kRuleDocs[];
extern const int kRuleDocCount;

// One line per rule, sorted by id (rules_meta_test checks the order and the files).
extern const Rule kBackendrefCrossNamespaceGrant;
extern const Rule kBackendrefInvalidKind;
extern const Rule kBackendrefNotFound;
extern const Rule kBackendrefServicePort;
extern const Rule kParentrefNotAllowedByListener;
extern const Rule kParentrefUnresolved;
extern const Rule kPolicyConflict;
extern const Rule kPolicyTargetrefValid;

namespace {
constinit const Rule* const kRules[] = {
    &kBackendrefCrossNamespaceGrant,
    &kBackendrefInvalidKind,
    &kBackendrefNotFound,
    &kBackendrefServicePort,
    &kParentrefNotAllowedByListener,
    &kParentrefUnresolved,
    &kPolicyConflict,
    &kPolicyTargetrefValid,
};
}  // namespace

std::span<const Rule* const> all_rules() { return kRules; }

const Rule* find_rule(std::string_view id) {
  auto it = std::lower_bound(std::begin(kRules), std::end(kRules), id,
                             [](const Rule* r, std::string_view v) { return r->id < v; });
  return it != std::end(kRules) && (*it)->id == id ? *it : nullptr;
}

std::string_view rule_doc(std::string_view id) {
  for (int i = 0; i < kRuleDocCount; ++i) {
    if (kRuleDocs[i].first == id) return kRuleDocs[i].second;
  }
  return {};
}

std::string rule_stem(const Rule& r) {
  std::string stem(r.id);
  std::replace(stem.begin(), stem.end(), '-', '_');
  return std::string(r.group) + "/" + stem;
}

}  // namespace latticeguard
