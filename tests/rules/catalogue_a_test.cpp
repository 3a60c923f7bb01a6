// Behaviour of the references, health check, auth and naming rules that fixtures cannot express:
// UPDATE with the old object, rule options, attached fixes, and the upstream examples the
// catalogue (lattice-rules.md §9) makes predictions about.
#include <gtest/gtest.h>

#include "rules/core/fix.h"
#include "rules/core/names.h"
#include "rules/registry.h"
#include "tests/rules/test_util.h"

namespace latticeguard::testing {
namespace {

ObjectPtr decode_one(const std::string& yaml) {
  Result<ManifestFile> f = decode_manifest(yaml, "test.yaml", "default");
  EXPECT_TRUE(f);
  EXPECT_EQ(f->objects.size(), 1u);
  return f->objects.at(0);
}

// Findings of `rule` when `after` replaces `before` (UPDATE) in an otherwise empty cluster.
std::vector<std::string> on_update(std::string_view rule, const std::string& before,
                                   const std::string& after) {
  ObjectPtr old_obj = decode_one(before);
  ObjectPtr new_obj = decode_one(after);
  ObjectIndex index;
  index.put(old_obj);
  ClusterView view = ClusterView(index).with(new_obj);
  Config cfg = Config::defaults();
  cfg.assume_lattice = true;
  Engine engine(all_rules(), std::make_shared<Config>(cfg));
  std::vector<Finding> f = engine.check(new_obj, view, Operation::kUpdate, old_obj.get());
  std::erase_if(f, [&](const Finding& x) { return rule_id(x) != rule || !is_enforced(x); });
  std::vector<std::string> out;
  for (const Finding& x : f) out.push_back(std::string(to_string(x.action)) + " " + x.pointer);
  return out;
}

std::string route_with_override(const std::string& value) {
  std::string annotations =
      value.empty() ? "{}"
                    : "{application-networking.k8s.aws/service-name-override: " + value + "}";
  return "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
         "metadata: {name: checkout, namespace: shop, annotations: " +
         annotations +
         "}\n"
         "spec:\n  parentRefs: [{name: my-hotel}]\n"
         "  rules: [{backendRefs: [{name: checkout, port: 80}]}]\n";
}

constexpr char kOverridePtr[] =
    "/metadata/annotations/application-networking.k8s.aws~1service-name-override";

TEST(ServiceNameOverride, AddedChangedOrRemovedOnUpdateIsDenied) {
  const std::string added = on_update("service-name-override", route_with_override(""),
                                      route_with_override("checkout-api"))
                                .at(0);
  EXPECT_EQ(added, std::string("deny ") + kOverridePtr);
  EXPECT_EQ(on_update("service-name-override", route_with_override("checkout-api"),
                      route_with_override("checkout-v2")),
            std::vector<std::string>{std::string("deny ") + kOverridePtr});
  EXPECT_EQ(on_update("service-name-override", route_with_override("checkout-api"),
                      route_with_override("")),
            std::vector<std::string>{"deny /metadata/annotations"});
}

TEST(ServiceNameOverride, UnchangedOverrideOnUpdateIsAllowed) {
  EXPECT_TRUE(on_update("service-name-override", route_with_override("checkout-api"),
                        route_with_override("checkout-api"))
                  .empty());
  EXPECT_TRUE(
      on_update("service-name-override", route_with_override(""), route_with_override("")).empty());
}

std::string tgp(const std::string& protocol_fields) {
  return "apiVersion: application-networking.k8s.aws/v1alpha1\nkind: TargetGroupPolicy\n"
         "metadata: {name: db, namespace: shop}\n"
         "spec:\n  targetRef: {group: \"\", kind: Service, name: db}\n" +
         protocol_fields;
}

TEST(TgpProtocolValues, ProtocolChangeOnUpdateWarnsAboutReplacement) {
  EXPECT_EQ(on_update("tgp-protocol-values", tgp("  protocol: HTTP\n"), tgp("  protocol: HTTPS\n")),
            std::vector<std::string>{"warn /spec/protocol"});
  EXPECT_EQ(on_update("tgp-protocol-values", tgp(""), tgp("  protocolVersion: HTTP2\n")),
            std::vector<std::string>{"warn /spec/protocolVersion"});
}

TEST(TgpProtocolValues, MakingTheDefaultExplicitIsNotAChange) {
  EXPECT_TRUE(
      on_update("tgp-protocol-values", tgp(""), tgp("  protocol: HTTP\n  protocolVersion: HTTP1\n"))
          .empty());
  // On CREATE there is nothing to compare with.
  World w;
  w.add_text(tgp("  protocol: HTTPS\n"));
  EXPECT_TRUE(w.lint_rule("tgp-protocol-values").empty());
}

constexpr char kForeignRegionImport[] = R"(
apiVersion: application-networking.k8s.aws/v1alpha1
kind: ServiceImport
metadata:
  name: orders
  namespace: shop
  annotations:
    application-networking.k8s.aws/target-group-arn: arn:aws:vpc-lattice:us-east-2:123456789012:targetgroup/tg-0abc123def4567890
spec: {type: ClusterSetIP, ports: [{port: 80, protocol: TCP}]}
)";

TEST(ServiceimportResolution, RegionOptionFlagsCrossRegionArns) {
  World w;
  Result<Config> c = Config::parse_yaml(
      "rules: {serviceimport-resolution: {options: {region: us-west-2}}}", "config.yaml");
  ASSERT_TRUE(c) << c.error().message;
  *w.config = *c;
  w.add_text(kForeignRegionImport);
  std::vector<Finding> f = w.lint_rule("serviceimport-resolution");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].action, Action::kWarn);
  EXPECT_NE(f[0].message.find("us-east-2"), std::string::npos) << f[0].message;
  EXPECT_NE(f[0].message.find("us-west-2"), std::string::npos) << f[0].message;

  c = Config::parse_yaml("rules: {serviceimport-resolution: {options: {region: us-east-2}}}",
                         "config.yaml");
  ASSERT_TRUE(c);
  World same;
  *same.config = *c;
  same.add_text(kForeignRegionImport);
  EXPECT_TRUE(same.lint_rule("serviceimport-resolution").empty());
}

TEST(ServiceimportResolution, SilentAboutRegionWhenUnset) {
  World w;
  w.add_text(kForeignRegionImport);
  EXPECT_TRUE(w.lint_rule("serviceimport-resolution").empty());
}

TEST(LatticeServiceName, MatchesTheControllerTruncation) {
  EXPECT_EQ(truncate_name("-abc-", 10), "abc");
  EXPECT_EQ(truncate_name("a-b-c-d-e-f-g-h-i-j-k", 20), "a-b-c-d-e-f-g-h-i-j");
  ObjectPtr r = decode_one(
      "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
      "metadata: {name: checkout-service-public-v1, namespace: ecommerce-production-eu}\n");
  EXPECT_EQ(lattice_service_name(*r), "checkout-service-pub-ecommerce-producti");
  EXPECT_TRUE(lattice_service_name_truncated(*r));
  ObjectPtr o = decode_one(route_with_override("checkout-api"));
  EXPECT_EQ(lattice_service_name(*o), "checkout-api");
  EXPECT_FALSE(lattice_service_name_truncated(*o));
}

std::string aws(const std::string& f) {
  return std::string(LG_CORPUS_DIR) + "/aws__aws-application-networking-k8s/files/examples/" + f;
}

TEST(CorpusCatalogueA, StandaloneGrpcRouteHasNoHealthChecks) {
  World w;
  w.add_file(aws("my-gateway.yaml"));
  w.add_file(aws("standalone-grpcroute.yaml"));
  ASSERT_TRUE(w.error.empty()) << w.error;
  // greeter-service is not in the files, so the route's backendRef carries the finding.
  EXPECT_EQ(describe(w.lint_rule("hc-disabled-by-default")),
            std::vector<std::string>{
                "warn GRPCRoute default/standalone-grpc-service /spec/rules/0/backendRefs/0"});
}

TEST(CorpusCatalogueA, GreeterGrpcServiceHasNoHealthChecks) {
  World w;
  w.add_file(aws("my-hotel-gateway.yaml"));
  w.add_file(aws("greeter-grpc-route.yaml"));
  w.add_file(aws("greeter-grpc-server.yaml"));
  ASSERT_TRUE(w.error.empty()) << w.error;
  EXPECT_EQ(describe(w.lint_rule("hc-disabled-by-default")),
            std::vector<std::string>{"warn Service default/greeter-grpc-server /spec"});
}

TEST(CorpusCatalogueA, ExplicitlyDisabledTcpHealthCheckIsClean) {
  World w;
  w.add_file(aws("tls-rate2.yaml"));
  w.add_file(aws("tls-rate2-export.yaml"));
  w.add_file(aws("tls-rate2-targetgrouppolicy.yaml"));
  ASSERT_TRUE(w.error.empty()) << w.error;
  for (const char* id : {"hc-disabled-by-default", "tgp-protocol-values", "tgp-orphaned",
                         "serviceexport-federation-annotation", "serviceexport-port"}) {
    EXPECT_TRUE(w.lint_rule(id).empty()) << id;
  }
}

TEST(CorpusCatalogueA, UpstreamExportsCarryTheFederationAnnotation) {
  for (const char* f :
       {"inventory-ver2-export.yaml", "service-1-export.yaml", "service-2-export.yaml",
        "tls-rate2-export.yaml", "multi-protocol-service-export.yaml"}) {
    World w;
    w.add_file(aws(f));
    ASSERT_TRUE(w.error.empty()) << w.error;
    EXPECT_TRUE(w.lint_rule("serviceexport-federation-annotation").empty()) << f;
  }
}

constexpr char kGrpcBackendWithProbe[] = R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: greeter, namespace: shop}
spec:
  selector: {matchLabels: {app: greeter}}
  template:
    metadata: {labels: {app: greeter}}
    spec:
      containers:
      - name: greeter
        image: greeter:1
        ports: [{containerPort: 50051}, {containerPort: 8080}]
        readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 10}
---
apiVersion: v1
kind: Service
metadata: {name: greeter, namespace: shop}
spec: {selector: {app: greeter}, ports: [{port: 443, targetPort: 50051}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: greeter, namespace: shop}
spec:
  parentRefs: [{name: my-hotel, sectionName: https}]
  rules: [{backendRefs: [{name: greeter, port: 443}]}]
---
apiVersion: application-networking.k8s.aws/v1alpha1
kind: TargetGroupPolicy
metadata: {name: greeter, namespace: shop}
spec:
  targetRef: {group: "", kind: Service, name: greeter}
)";

TEST(HcDisabledByDefault, FixEnablesTheCheckFromTheProbe) {
  World w;
  w.add_text(kGrpcBackendWithProbe);
  ASSERT_TRUE(w.error.empty()) << w.error;
  std::vector<Finding> f = w.lint_rule("hc-disabled-by-default");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].object->kind(), kTargetGroupPolicy);
  ASSERT_TRUE(f[0].fix);
  json fixed = apply_fixes(f[0].object->raw(), std::vector<Fix>{*f[0].fix});
  const json& hc = fixed["spec"]["healthCheck"];
  EXPECT_EQ(hc.value("enabled", false), true) << fixed.dump();
  EXPECT_EQ(hc.value("protocolVersion", ""), "HTTP1") << fixed.dump();
  EXPECT_EQ(hc.value("path", ""), "/healthz") << fixed.dump();
  EXPECT_EQ(hc.value("port", 0), 8080) << fixed.dump();
  // The fixed policy no longer triggers the rule.
  World after;
  std::string objects = kGrpcBackendWithProbe;
  after.add_text(objects.substr(0, objects.rfind("---")) + "---\n" + fixed.dump());
  ASSERT_TRUE(after.error.empty()) << after.error;
  EXPECT_TRUE(after.lint_rule("hc-disabled-by-default").empty());
}

TEST(ServiceexportFederationAnnotation, FindingCarriesTheAnnotationFix) {
  World w;
  w.add_text(R"(
apiVersion: application-networking.k8s.aws/v1alpha1
kind: ServiceExport
metadata: {name: service-1, namespace: shop}
spec: {exportedPorts: [{port: 80, routeType: HTTP}]}
)");
  std::vector<Finding> f = w.lint_rule("serviceexport-federation-annotation");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].action, Action::kDeny);
  ASSERT_TRUE(f[0].fix);
  json fixed = apply_fixes(f[0].object->raw(), std::vector<Fix>{*f[0].fix});
  EXPECT_EQ(fixed["metadata"]["annotations"]["application-networking.k8s.aws/federation"],
            "amazon-vpc-lattice");
}

}  // namespace
}  // namespace latticeguard::testing
