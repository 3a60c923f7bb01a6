// Behaviour of the references rules that fixtures cannot show: removal impact, UPDATE, open
// worlds, fixes, and the upstream examples and bundled broken examples.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "rules/core/engine.h"
#include "rules/core/fix.h"
#include "rules/registry.h"
#include "tests/rules/test_util.h"

namespace latticeguard::testing {
namespace {

constexpr std::string_view kMyRules[] = {
    "backendref-cross-namespace-grant",
    "backendref-invalid-kind",
    "backendref-service-port",
    "parentref-not-allowed-by-listener",
    "parentref-unresolved",
    "policy-conflict",
    "policy-targetref-valid",
};

const char* kLattice = R"(apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: amazon-vpc-lattice}
spec: {controllerName: application-networking.k8s.aws/gateway-api-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: my-hotel, namespace: infra}
spec:
  gatewayClassName: amazon-vpc-lattice
  listeners: [{name: http, protocol: HTTP, port: 80, allowedRoutes: {namespaces: {from: All}}}]
)";

const char* kCrossNamespace = R"(apiVersion: v1
kind: Service
metadata: {name: payments, namespace: team-b}
spec: {selector: {app: payments}, ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: from-team-a, namespace: team-b}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: team-a}]
  to: [{group: "", kind: Service, name: payments}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: api, namespace: team-a}
spec:
  parentRefs: [{name: my-hotel, namespace: infra}]
  rules: [{backendRefs: [{name: payments, namespace: team-b, port: 80}]}]
)";

std::vector<std::string> messages(const std::vector<Finding>& f) {
  std::vector<std::string> out;
  for (const Finding& x : f) out.push_back(x.message);
  return out;
}

TEST(References, DeletingANeededReferenceGrantIsReportedOnTheRoute) {
  World w;
  w.add_text(kLattice);
  w.add_text(kCrossNamespace);
  ASSERT_TRUE(w.error.empty()) << w.error;
  EXPECT_TRUE(w.lint_rule("backendref-cross-namespace-grant").empty());

  Engine engine(all_rules(), w.config);
  ClusterView before(w.index);
  const Object* grant = before.find(kReferenceGrant, "team-b", "from-team-a");
  ASSERT_NE(grant, nullptr);
  std::vector<Finding> impact =
      engine.check_removal(*grant, before, before.without(ObjectKey::of(*grant)));
  ASSERT_EQ(impact.size(), 1u) << ::testing::PrintToString(messages(impact));
  EXPECT_EQ(rule_id(impact[0]), "backendref-cross-namespace-grant");
  EXPECT_EQ(impact[0].action, Action::kDeny);
  EXPECT_EQ(impact[0].object->display(), "HTTPRoute team-a/api");
  EXPECT_EQ(impact[0].pointer, "/spec/rules/0/backendRefs/0/namespace");
}

TEST(References, NarrowingAReferenceGrantIsReportedOnTheRoute) {
  World w;
  w.add_text(kLattice);
  w.add_text(kCrossNamespace);
  Engine engine(all_rules(), w.config);
  ClusterView before(w.index);
  auto narrowed =
      Object::from_json(json::parse(R"({"apiVersion":"gateway.networking.k8s.io/v1beta1",
    "kind":"ReferenceGrant","metadata":{"name":"from-team-a","namespace":"team-b"},
    "spec":{"from":[{"group":"gateway.networking.k8s.io","kind":"GRPCRoute","namespace":"team-a"}],
            "to":[{"group":"","kind":"Service","name":"payments"}]}})"));
  ASSERT_TRUE(narrowed);
  auto obj = std::make_shared<const Object>(*narrowed);
  std::vector<Finding> impact = engine.check_impact(*obj, before, before.with(obj));
  ASSERT_EQ(impact.size(), 1u);
  EXPECT_EQ(rule_id(impact[0]), "backendref-cross-namespace-grant");
}

TEST(References, UnknownReferenceGrantsKeepTheRuleSilent) {
  World w;
  w.add_text(kLattice);
  w.add_text(R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: api, namespace: team-a}
spec:
  parentRefs: [{name: my-hotel, namespace: infra}]
  rules: [{backendRefs: [{name: payments, namespace: team-b, port: 80}]}]
)");
  EXPECT_EQ(w.lint_rule("backendref-cross-namespace-grant").size(), 1u);
  w.index.set_complete(kReferenceGrant, false);
  EXPECT_TRUE(w.lint_rule("backendref-cross-namespace-grant").empty());
}

TEST(References, StandaloneGrpcRouteOnHttpOnlyGatewayIsNotAllowed) {
  World w;
  std::string dir =
      std::string(LG_CORPUS_DIR) + "/aws__aws-application-networking-k8s/files/examples/";
  w.add_file(dir + "my-gateway.yaml");
  w.add_file(dir + "standalone-grpcroute.yaml");
  ASSERT_TRUE(w.error.empty()) << w.error;
  std::vector<Finding> f = w.lint_rule("parentref-not-allowed-by-listener");
  EXPECT_EQ(describe(f), std::vector<std::string>{
                             "deny GRPCRoute default/standalone-grpc-service /spec/parentRefs/0"});
  ASSERT_EQ(f.size(), 1u);
  EXPECT_NE(f[0].message.find("HTTPS"), std::string::npos) << f[0].message;
}

TEST(References, GatewayUpdateThatDetachesARouteIsReportedOnTheRoute) {
  World w;
  w.add_text(kLattice);
  w.add_text(kCrossNamespace);
  ASSERT_TRUE(w.error.empty()) << w.error;
  Engine engine(all_rules(), w.config);
  ClusterView before(w.index);
  auto same_only = Object::from_json(json::parse(R"({"apiVersion":"gateway.networking.k8s.io/v1",
    "kind":"Gateway","metadata":{"name":"my-hotel","namespace":"infra"},
    "spec":{"gatewayClassName":"amazon-vpc-lattice",
            "listeners":[{"name":"http","protocol":"HTTP","port":80}]}})"));
  ASSERT_TRUE(same_only);
  auto gw = std::make_shared<const Object>(*same_only);
  std::vector<Finding> impact = engine.check_impact(*gw, before, before.with(gw));
  ASSERT_EQ(impact.size(), 1u) << ::testing::PrintToString(messages(impact));
  EXPECT_EQ(rule_id(impact[0]), "parentref-not-allowed-by-listener");
  EXPECT_EQ(impact[0].object->display(), "HTTPRoute team-a/api");
  EXPECT_NE(impact[0].message.find("from: Same"), std::string::npos) << impact[0].message;
}

TEST(References, TargetPortInsteadOfServicePortNamesTheServicePort) {
  World w;
  w.add_text(R"(apiVersion: v1
kind: Service
metadata: {name: parking, namespace: shop}
spec: {selector: {app: parking}, ports: [{port: 80, targetPort: 8090}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: parking, namespace: shop}
spec:
  parentRefs: [{name: my-hotel}]
  rules: [{backendRefs: [{name: parking, port: 8090}]}]
)");
  w.config->assume_lattice = true;
  std::vector<Finding> f = w.lint_rule("backendref-service-port");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].message.rfind("8090 is the targetPort; use the Service port 80", 0), 0u)
      << f[0].message;
}

const char* kRouteToMissingGateway = R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: inventory, namespace: shop}
spec:
  parentRefs: [{name: nowhere}]
  rules: [{backendRefs: [{name: inventory, port: 80}]}]
)";

TEST(References, NoResolvableParentIsADenyAndAnUnknownOneIsSilent) {
  World w;  // no GatewayClass in the set: the route is in scope
  w.add_text(kRouteToMissingGateway);
  EXPECT_EQ(describe(w.lint_rule("parentref-unresolved")),
            std::vector<std::string>{"deny HTTPRoute shop/inventory /spec/parentRefs/0"});
  w.index.set_complete(kGateway, false);  // open world: the Gateway may exist elsewhere
  EXPECT_TRUE(w.lint_rule("parentref-unresolved").empty());
}

const char* kTgpA = R"(apiVersion: application-networking.k8s.aws/v1alpha1
kind: TargetGroupPolicy
metadata: {name: hc-a, namespace: shop, creationTimestamp: "2024-05-01T10:00:00Z"}
spec:
  targetRef: {group: "", kind: Service, name: parking}
)";
const char* kTgpB = R"(apiVersion: application-networking.k8s.aws/v1alpha1
kind: TargetGroupPolicy
metadata: {name: aa-b, namespace: shop, creationTimestamp: "2024-05-02T10:00:00Z"}
spec:
  targetRef: {group: "", kind: Service, name: parking}
)";

TEST(References, PolicyConflictDeniesTheNewerAndWarnsOnUpdateOfTheAccepted) {
  World w;
  w.add_text(kTgpA);
  w.add_text(kTgpB);
  ASSERT_TRUE(w.error.empty()) << w.error;
  // The older policy wins although its name sorts later.
  EXPECT_EQ(describe(w.lint_rule("policy-conflict")),
            std::vector<std::string>{"deny TargetGroupPolicy shop/aa-b /spec/targetRef"});

  Engine engine(all_rules(), w.config);
  ClusterView view(w.index);
  ObjectPtr accepted = w.index.get(ObjectKey::of(kTargetGroupPolicy, "shop", "hc-a"));
  ObjectPtr newer = w.index.get(ObjectKey::of(kTargetGroupPolicy, "shop", "aa-b"));
  auto only = [](std::vector<Finding> f) {
    std::erase_if(f, [](const Finding& x) { return rule_id(x) != "policy-conflict"; });
    return f;
  };
  std::vector<Finding> upd = only(engine.check(accepted, view, Operation::kUpdate, accepted.get()));
  ASSERT_EQ(upd.size(), 1u);
  EXPECT_EQ(upd[0].action, Action::kWarn);
  EXPECT_NE(upd[0].message.find("aa-b"), std::string::npos) << upd[0].message;
  EXPECT_TRUE(only(engine.check(accepted, view, Operation::kCreate)).empty());
  std::vector<Finding> upd_newer = only(engine.check(newer, view, Operation::kUpdate, newer.get()));
  ASSERT_EQ(upd_newer.size(), 1u);
  EXPECT_EQ(upd_newer[0].action, Action::kDeny);
}

TEST(References, PolicyUnderReviewWithoutTimestampComesAfterCreatedOnes) {
  // At admission the reviewed object may lack creationTimestamp; it must not displace the
  // accepted policy even when its name sorts first.
  World w;
  w.add_text(kTgpA);
  auto fresh =
      Object::from_json(json::parse(R"({"apiVersion":"application-networking.k8s.aws/v1alpha1",
    "kind":"TargetGroupPolicy","metadata":{"name":"a-fresh","namespace":"shop"},
    "spec":{"targetRef":{"group":"","kind":"Service","name":"parking"}}})"));
  ASSERT_TRUE(fresh);
  auto obj = std::make_shared<const Object>(*fresh);
  Engine engine(all_rules(), w.config);
  ClusterView view = ClusterView(w.index).with(obj);
  std::vector<Finding> f = engine.check(obj, view);
  std::erase_if(f, [](const Finding& x) { return rule_id(x) != "policy-conflict"; });
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].action, Action::kDeny);
  EXPECT_NE(f[0].message.find("hc-a"), std::string::npos) << f[0].message;
}

TEST(References, MissingTargetRefGroupCarriesAFix) {
  World w;
  w.add_text(R"(apiVersion: application-networking.k8s.aws/v1alpha1
kind: TargetGroupPolicy
metadata: {name: no-group, namespace: shop}
spec:
  targetRef: {kind: Service, name: parking}
---
apiVersion: v1
kind: Service
metadata: {name: parking, namespace: shop}
spec: {selector: {app: parking}, ports: [{port: 80}]}
)");
  std::vector<Finding> f = w.lint_rule("policy-targetref-valid");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].action, Action::kDeny);
  ASSERT_TRUE(f[0].fix.has_value());
  EXPECT_EQ(f[0].fix->ops,
            json::parse(R"([{"op":"add","path":"/spec/targetRef/group","value":""}])"));
  json fixed = apply_fixes(f[0].object->raw(), std::span<const Fix>(&*f[0].fix, 1));
  World after;
  after.add_text(fixed.dump());
  after.add_text(R"(apiVersion: v1
kind: Service
metadata: {name: parking, namespace: shop}
spec: {selector: {app: parking}, ports: [{port: 80}]}
)");
  EXPECT_TRUE(after.lint_rule("policy-targetref-valid").empty());
}

// The bundled broken examples each show one mistake: a deny of their own rule and no other.
TEST(References, BrokenExamplesDenyExactlyTheirRule) {
  namespace fs = std::filesystem;
  for (std::string_view id : kMyRules) {
    std::string dir = std::string(LG_SOURCE_DIR) + "/manifests/examples/broken/" + std::string(id);
    ASSERT_TRUE(fs::exists(dir)) << dir;
    World w;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() == ".yaml") w.add_file(e.path().string());
    }
    ASSERT_TRUE(w.error.empty()) << w.error;
    std::set<std::string> denied;
    for (const Finding& f : w.lint()) {
      if (f.action == Action::kDeny) denied.insert(std::string(rule_id(f)));
    }
    EXPECT_EQ(denied, std::set<std::string>{std::string(id)}) << dir;
  }
}

TEST(References, MessagesAreShortLowerCaseAndUnpunctuated) {
  for (std::string_view id : kMyRules) {
    const Rule* r = find_rule(id);
    ASSERT_NE(r, nullptr) << id;
    World w;
    w.add_file(std::string(LG_SOURCE_DIR) + "/rules/" + rule_stem(*r) + ".yaml");
    ASSERT_TRUE(w.error.empty()) << w.error;
    std::vector<Finding> f = w.lint_rule(id);
    EXPECT_FALSE(f.empty()) << id;
    for (const Finding& x : f) {
      EXPECT_LE(x.message.size(), 120u) << x.message;
      EXPECT_NE(x.message.back(), '.') << x.message;
      bool proper = x.message.rfind("VPC Lattice", 0) == 0 || x.message.rfind("Gateway", 0) == 0 ||
                    x.message.rfind("Service", 0) == 0 ||
                    x.message.rfind("ServiceImport", 0) == 0 ||
                    x.message.rfind("TargetGroupPolicy", 0) == 0 ||
                    x.message.rfind("IAMAuthPolicy", 0) == 0 ||
                    x.message.rfind("VpcAssociationPolicy", 0) == 0 ||
                    x.message.rfind("AccessLogPolicy", 0) == 0 || std::isdigit(x.message[0]);
      EXPECT_TRUE(proper || std::islower(static_cast<unsigned char>(x.message[0]))) << x.message;
    }
  }
}

}  // namespace
}  // namespace latticeguard::testing
