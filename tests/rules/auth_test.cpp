// auth-none-in-production beyond the fixture: what deleting an IAMAuthPolicy does (admission
// DELETE runs Engine::check_removal), Gateway-level coverage and standalone routes.
#include <gtest/gtest.h>

#include "rules/registry.h"
#include "tests/rules/test_util.h"

namespace latticeguard::testing {
namespace {

const char* kBase = R"(apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: lattice}
spec: {controllerName: application-networking.k8s.aws/gateway-api-controller}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {environment: production}}
---
apiVersion: v1
kind: Namespace
metadata: {name: infra}
---
apiVersion: v1
kind: Namespace
metadata: {name: dev}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: sn, namespace: infra}
spec:
  gatewayClassName: lattice
  listeners: [{name: http, protocol: HTTP, port: 80, allowedRoutes: {namespaces: {from: All}}}]
)";

std::string route(const std::string& ns, const std::string& annotations = "") {
  return "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: pay\n"
         "  namespace: " +
         ns + "\n" + (annotations.empty() ? "" : "  annotations: " + annotations + "\n") +
         "spec:\n  parentRefs: [{name: sn, namespace: infra}]\n"
         "  rules: [{backendRefs: [{name: pay, port: 80}]}]\n";
}

std::string policy(const std::string& ns, const std::string& kind, const std::string& name) {
  return "apiVersion: application-networking.k8s.aws/v1alpha1\nkind: IAMAuthPolicy\n"
         "metadata: {name: " +
         name + "-auth, namespace: " + ns +
         "}\nspec:\n  targetRef: {group: gateway.networking.k8s.io, kind: " + kind +
         ", name: " + name +
         "}\n  policy: '{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
         "\"Principal\":{\"AWS\":\"arn:aws:iam::123456789012:root\"},"
         "\"Action\":\"vpc-lattice-svcs:Invoke\",\"Resource\":\"*\"}]}'\n";
}

const char* kRule = "auth-none-in-production";

struct Removal {
  World world;
  std::vector<Finding> impact;  // enforced findings the deletion would add
};

// Loads `docs` over the base and deletes the IAMAuthPolicy ns/name.
void remove_policy(Removal& r, const std::vector<std::string>& docs, const std::string& ns,
                   const std::string& name) {
  r.world.add_text(kBase);
  for (const std::string& d : docs) r.world.add_text(d);
  ASSERT_TRUE(r.world.error.empty()) << r.world.error;
  Engine engine(all_rules(), r.world.config);
  ClusterView before(r.world.index);
  const Object* p = before.find(kIAMAuthPolicy, ns, name);
  ASSERT_NE(p, nullptr);
  r.impact = engine.check_removal(*p, before, before.without(ObjectKey::of(*p)));
}

TEST(AuthNoneInProduction, DeletingTheRoutePolicyInProductionIsDenied) {
  Removal r;
  remove_policy(r, {route("shop"), policy("shop", "HTTPRoute", "pay")}, "shop", "pay-auth");
  EXPECT_TRUE(r.world.lint_rule(kRule).empty()) << "covered while the policy exists";
  ASSERT_EQ(describe(r.impact, true),
            std::vector<std::string>{"deny HTTPRoute shop/pay /metadata/namespace " +
                                     std::string(kRule)});
  EXPECT_EQ(r.impact[0].message,
            "HTTPRoute in a production namespace is open to all VPCs in the service network "
            "(auth type NONE); add an IAMAuthPolicy");
  EXPECT_LE(r.impact[0].message.size(), 120u);
}

TEST(AuthNoneInProduction, DeletingAPolicyOutsideProductionIsAllowed) {
  Removal r;
  remove_policy(r, {route("dev"), policy("dev", "HTTPRoute", "pay")}, "dev", "pay-auth");
  EXPECT_TRUE(r.impact.empty()) << describe(r.impact, true).front();
}

TEST(AuthNoneInProduction, GatewayPolicyCoversRoutesUntilDeleted) {
  Removal r;
  remove_policy(r, {route("shop"), policy("infra", "Gateway", "sn")}, "infra", "sn-auth");
  EXPECT_TRUE(r.world.lint_rule(kRule).empty());
  EXPECT_EQ(describe(r.impact, true),
            std::vector<std::string>{"deny HTTPRoute shop/pay /metadata/namespace " +
                                     std::string(kRule)});
}

TEST(AuthNoneInProduction, GatewayInProductionWithoutPolicyIsAWarning) {
  World w;
  std::string base = kBase;
  base.replace(base.find("name: infra}"), 12, "name: infra, labels: {environment: prod}}");
  w.add_text(base);
  ASSERT_TRUE(w.error.empty()) << w.error;
  EXPECT_EQ(describe(w.lint_rule(kRule)),
            std::vector<std::string>{"warn Gateway infra/sn /metadata/namespace"});
  w.add_text(policy("infra", "Gateway", "sn"));
  EXPECT_TRUE(w.lint_rule(kRule).empty());
}

TEST(AuthNoneInProduction, StandaloneRoutesNeedTheirOwnPolicy) {
  const std::string deny = "deny HTTPRoute shop/pay /metadata/namespace";
  {  // Annotated route: the Gateway's policy does not reach it.
    World w;
    w.add_text(kBase);
    w.add_text(route("shop", "{application-networking.k8s.aws/standalone: \"true\"}"));
    w.add_text(policy("infra", "Gateway", "sn"));
    ASSERT_TRUE(w.error.empty()) << w.error;
    std::vector<Finding> f = w.lint_rule(kRule);
    EXPECT_EQ(describe(f), std::vector<std::string>{deny});
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].message.rfind("standalone HTTPRoute", 0), 0u) << f[0].message;
    w.add_text(policy("shop", "HTTPRoute", "pay"));
    EXPECT_TRUE(w.lint_rule(kRule).empty());
  }
  // Annotated Gateway: its routes are standalone, unless the route says otherwise.
  std::string base = kBase;
  base.replace(base.find("name: sn, namespace: infra}"), 27,
               "name: sn, namespace: infra, annotations: "
               "{application-networking.k8s.aws/standalone: \"true\"}}");
  {
    World w;
    w.add_text(base);
    w.add_text(route("shop"));
    w.add_text(policy("infra", "Gateway", "sn"));
    ASSERT_TRUE(w.error.empty()) << w.error;
    EXPECT_EQ(describe(w.lint_rule(kRule)), std::vector<std::string>{deny});
  }
  {
    World w;
    w.add_text(base);
    w.add_text(route("shop", "{application-networking.k8s.aws/standalone: \"false\"}"));
    w.add_text(policy("infra", "Gateway", "sn"));
    ASSERT_TRUE(w.error.empty()) << w.error;
    EXPECT_TRUE(w.lint_rule(kRule).empty());
  }
}

TEST(AuthNoneInProduction, UnknownNamespaceOrOpenWorldStaysSilent) {
  World w;
  std::string base = kBase;
  const std::string shop = "name: shop, labels: {environment: production}";
  base.replace(base.find(shop), shop.size(), "name: other, labels: {environment: production}");
  w.add_text(base);
  w.add_text(route("shop"));
  ASSERT_TRUE(w.error.empty()) << w.error;
  EXPECT_TRUE(w.lint_rule(kRule).empty()) << "Namespace shop is not known";

  World open;
  open.add_text(kBase);
  open.add_text(route("shop"));
  EXPECT_EQ(open.lint_rule(kRule).size(), 1u);
  open.index.set_complete(kIAMAuthPolicy, false);  // the policies are not synced yet
  EXPECT_TRUE(open.lint_rule(kRule).empty());
}

}  // namespace
}  // namespace latticeguard::testing
