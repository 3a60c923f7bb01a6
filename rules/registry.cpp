#include "rules/registry.h"

#include <algorithm>
#include <utility>

namespace latticeguard {

extern const std::pair<std::string_view, std::string_view> kRuleDocs[];
extern const int kRuleDocCount;

// One line per rule, sorted by id (rules_meta_test checks the order and the files).
extern const Rule kAuthNoneInProduction;
extern const Rule kAuthPolicyDocument;
extern const Rule kAuthUnenforceable;
extern const Rule kBackendServiceType;
extern const Rule kBackendrefCrossNamespaceGrant;
extern const Rule kBackendrefInvalidKind;
extern const Rule kBackendrefNotFound;
extern const Rule kBackendrefSameServiceMultiplePorts;
extern const Rule kBackendrefServicePort;
extern const Rule kCaseSensitivityNotice;
extern const Rule kCustomDomainHostnames;
extern const Rule kCustomDomainUniqueInServiceNetwork;
extern const Rule kGatewayServiceNetworkName;
extern const Rule kHcDefaultPathNotServed;
extern const Rule kHcDisabledByDefault;
extern const Rule kHcPathMatchesProbe;
extern const Rule kHcPortMatchesWorkload;
extern const Rule kHcProtocolMatchesBackend;
extern const Rule kHcStatusmatchFormat;
extern const Rule kHcTimeoutLtInterval;
extern const Rule kHcValueRanges;
extern const Rule kHostnameListenerIntersection;
extern const Rule kIgnoredFiltersAndTimeouts;
extern const Rule kIneffectiveAnnotations;
extern const Rule kLatticeQuotaShape;
extern const Rule kLatticeRuleShape;
extern const Rule kLatticeServiceNameCollision;
extern const Rule kListenerConfig;
extern const Rule kParentrefNotAllowedByListener;
extern const Rule kParentrefUnresolved;
extern const Rule kPolicyConflict;
extern const Rule kPolicyTargetrefValid;
extern const Rule kServiceNameOverride;
extern const Rule kServiceexportFederationAnnotation;
extern const Rule kServiceexportPort;
extern const Rule kServiceimportResolution;
extern const Rule kTgpOrphaned;
extern const Rule kTgpProtocolValues;
extern const Rule kTlsrouteShape;
extern const Rule kUnsupportedMatchTypes;
extern const Rule kWorkloadProbeBreaksHealthCheck;

namespace {
constinit const Rule* const kRules[] = {
    &kAuthNoneInProduction,
    &kAuthPolicyDocument,
    &kAuthUnenforceable,
    &kBackendServiceType,
    &kBackendrefCrossNamespaceGrant,
    &kBackendrefInvalidKind,
    &kBackendrefNotFound,
    &kBackendrefSameServiceMultiplePorts,
    &kBackendrefServicePort,
    &kCaseSensitivityNotice,
    &kCustomDomainHostnames,
    &kCustomDomainUniqueInServiceNetwork,
    &kGatewayServiceNetworkName,
    &kHcDefaultPathNotServed,
    &kHcDisabledByDefault,
    &kHcPathMatchesProbe,
    &kHcPortMatchesWorkload,
    &kHcProtocolMatchesBackend,
    &kHcStatusmatchFormat,
    &kHcTimeoutLtInterval,
    &kHcValueRanges,
    &kHostnameListenerIntersection,
    &kIgnoredFiltersAndTimeouts,
    &kIneffectiveAnnotations,
    &kLatticeQuotaShape,
    &kLatticeRuleShape,
    &kLatticeServiceNameCollision,
    &kListenerConfig,
    &kParentrefNotAllowedByListener,
    &kParentrefUnresolved,
    &kPolicyConflict,
    &kPolicyTargetrefValid,
    &kServiceNameOverride,
    &kServiceexportFederationAnnotation,
    &kServiceexportPort,
    &kServiceimportResolution,
    &kTgpOrphaned,
    &kTgpProtocolValues,
    &kTlsrouteShape,
    &kUnsupportedMatchTypes,
    &kWorkloadProbeBreaksHealthCheck,
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
