// Engine behaviour that every rule relies on: scope, suppression, actions from config,
// overlays for admission, and removal impact.
#include "rules/core/engine.h"

#include <gtest/gtest.h>

#include "rules/core/lattice.h"
#include "rules/registry.h"
#include "tests/rules/test_util.h"

namespace latticeguard::testing {
namespace {

const char* kClassAndGateway = R"(apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: lattice}
spec: {controllerName: application-networking.k8s.aws/gateway-api-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: shop}
spec:
  gatewayClassName: lattice
  listeners: [{name: http, protocol: HTTP, port: 80}]
)";

const char* kRoute = R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: shop}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: svc, port: 80}]}]
)";

const char* kServiceYaml = R"(apiVersion: v1
kind: Service
metadata: {name: svc, namespace: shop}
spec: {selector: {app: svc}, ports: [{port: 80}]}
)";

TEST(Engine, ReportsMissingBackendAndHonoursConfiguredAction) {
  World w;
  w.add_text(kClassAndGateway);
  w.add_text(kRoute);
  EXPECT_EQ(describe(w.lint_rule("backendref-not-found")),
            std::vector<std::string>{"deny HTTPRoute shop/r /spec/rules/0/backendRefs/0"});
  w.config->actions["backendref-not-found"] = Action::kWarn;
  EXPECT_EQ(describe(w.lint_rule("backendref-not-found")),
            std::vector<std::string>{"warn HTTPRoute shop/r /spec/rules/0/backendRefs/0"});
  w.config->actions["backendref-not-found"] = Action::kOff;
  EXPECT_TRUE(w.lint_rule("backendref-not-found").empty());
}

TEST(Engine, SuppressionNeedsAReason) {
  std::string suppressed = std::string(kRoute);
  suppressed.replace(suppressed.find("namespace: shop}"), 16,
                     "namespace: shop, annotations: {latticeguard.io/ignore: "
                     "\"backendref-not-found: created by the app pipeline\"}}");
  World w;
  w.add_text(kClassAndGateway);
  w.add_text(suppressed);
  ASSERT_TRUE(w.error.empty()) << w.error;
  EXPECT_TRUE(w.lint_rule("backendref-not-found").empty());

  std::string no_reason = std::string(kRoute);
  no_reason.replace(
      no_reason.find("namespace: shop}"), 16,
      "namespace: shop, annotations: {latticeguard.io/ignore: backendref-not-found}}");
  World w2;
  w2.add_text(kClassAndGateway);
  w2.add_text(no_reason);
  EXPECT_EQ(w2.lint_rule("backendref-not-found").size(), 1u);
}

TEST(Engine, OutOfScopeRoutesAreNotChecked) {
  World w;
  w.add_text(kClassAndGateway);
  std::string other = kRoute;
  other.replace(other.find("name: gw"), 8, "name: istio");
  w.add_text(R"(apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: istio}
spec: {controllerName: istio.io/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: istio, namespace: shop}
spec: {gatewayClassName: istio, listeners: [{name: http, protocol: HTTP, port: 80}]}
)");
  w.add_text(other);
  EXPECT_TRUE(w.lint_rule("backendref-not-found").empty());
}

TEST(Engine, OverlayAndRemovalImpact) {
  World w;
  w.add_text(kClassAndGateway);
  w.add_text(kRoute);
  w.add_text(kServiceYaml);
  Engine engine(all_rules(), w.config);
  ClusterView before(w.index);
  const Object* svc = before.find(kService, "shop", "svc");
  ASSERT_NE(svc, nullptr);
  ClusterView after = before.without(ObjectKey::of(*svc));
  EXPECT_EQ(after.find(kService, "shop", "svc"), nullptr);
  std::vector<Finding> impact = engine.check_removal(*svc, before, after);
  ASSERT_EQ(impact.size(), 1u);
  EXPECT_EQ(rule_id(impact[0]), "backendref-not-found");
  EXPECT_EQ(impact[0].object->display(), "HTTPRoute shop/r");

  // Laying a new version over the index replaces the old one for every lookup.
  auto obj = Object::from_json(json::parse(R"({"apiVersion":"v1","kind":"Service",
    "metadata":{"name":"svc2","namespace":"shop"}})"));
  ASSERT_TRUE(obj);
  ClusterView with = before.with(std::make_shared<const Object>(*obj));
  EXPECT_NE(with.find(kService, "shop", "svc2"), nullptr);
  EXPECT_EQ(with.list(kService).size(), 2u);
}

// A review's object is read once to find whether it needs defaults; when it does, doc() has them
// and raw() (what a patch applies to) does not; a wrong shape is reported either way.
TEST(Engine, ReviewObjectsGetDefaultsAndShapeErrorsFromOneReadOnlyWalk) {
  const json route = json::parse(R"({"apiVersion":"gateway.networking.k8s.io/v1",
    "kind":"HTTPRoute","metadata":{"name":"r","namespace":"shop"},
    "spec":{"parentRefs":[{"name":"gw"}],"rules":[{"backendRefs":[{"name":"svc","port":80}]}]}})");
  Result<Object> bare = Object::from_json(route);
  ASSERT_TRUE(bare) << bare.error().message;
  EXPECT_EQ(bare->doc()["spec"]["parentRefs"][0]["kind"], "Gateway");
  EXPECT_EQ(bare->doc()["spec"]["rules"][0]["backendRefs"][0]["kind"], "Service");
  EXPECT_FALSE(bare->raw()["spec"]["parentRefs"][0].contains("kind"));
  EXPECT_NE(&bare->doc(), &bare->raw());

  Result<Object> defaulted = Object::from_json(bare->doc());
  ASSERT_TRUE(defaulted);
  EXPECT_EQ(&defaulted->doc(), &defaulted->raw());  // nothing to write: one document

  for (const json& bad : {json::parse(R"({"spec":{"rules":[{"backendRefs":"svc"}]}})"),
                          json::parse(R"({"spec":{"parentRefs":[{"name":"gw","port":"80"}]}})")}) {
    json doc = route;
    doc.merge_patch(bad);
    Result<Object> o = Object::from_json(doc);
    ASSERT_FALSE(o);
    EXPECT_NE(o.error().message.find("expected"), std::string::npos) << o.error().message;
    EXPECT_FALSE(o.error().pointer.empty());
  }
}

TEST(Engine, IndexSnapshotsAreIndependent) {
  ObjectIndex a;
  auto o = Object::from_json(json::parse(R"({"apiVersion":"v1","kind":"Service",
    "metadata":{"name":"x","namespace":"n"}})"));
  a.put(std::make_shared<const Object>(*o));
  ObjectIndex snapshot = a;
  a.erase(ObjectKey::of(kService, "n", "x"));
  EXPECT_EQ(a.find(kService, "n", "x"), nullptr);
  EXPECT_NE(snapshot.find(kService, "n", "x"), nullptr);
}

// An UPDATE re-checks the changed object's dependents only when something rules read changed:
// a Gateway with thousands of routes gets label and bookkeeping updates all the time.
TEST(Engine, VersionsDifferingOnlyInUnreadFieldsAreTheSameForRules) {
  auto gateway = [](const std::string& metadata_extra, int port) {
    Result<Object> o = Object::from_json(json::parse(
        R"({"apiVersion":"gateway.networking.k8s.io/v1","kind":"Gateway",
            "metadata":{"name":"gw","namespace":"infra")" +
        metadata_extra + R"(},
            "spec":{"gatewayClassName":"amazon-vpc-lattice",
                    "listeners":[{"name":"http","protocol":"HTTP","port":)" +
        std::to_string(port) + R"(}]},
            "status":{"conditions":[]}})"));
    EXPECT_TRUE(o) << o.error().message;
    return *o;
  };
  Object base = gateway("", 80);
  EXPECT_TRUE(same_for_rules(base, gateway(R"(,"labels":{"owner":"networking"},"generation":2,
      "resourceVersion":"991","annotations":{"example.com/ticket":"NET-12"})",
                                           80)));
  EXPECT_FALSE(same_for_rules(base, gateway("", 8080)));
  EXPECT_FALSE(same_for_rules(
      base,
      gateway(R"(,"annotations":{"application-networking.k8s.aws/lattice-vpc-association":"true"})",
              80)));
  EXPECT_FALSE(same_for_rules(
      base,
      gateway(R"(,"annotations":{"latticeguard.io/ignore":"parentref-unresolved: moving"})", 80)));
  // Read annotations count whether or not unread ones sit beside them; status never counts.
  Object annotated =
      gateway(R"(,"annotations":{"application-networking.k8s.aws/lattice-vpc-association":"true",
      "example.com/ticket":"NET-12"})",
              80);
  EXPECT_TRUE(same_for_rules(
      annotated,
      gateway(R"(,"annotations":{"application-networking.k8s.aws/lattice-vpc-association":"true"})",
              80)));
  json restarted = base.doc();
  restarted["status"]["conditions"] = json::array({{{"type", "Programmed"}, {"status", "False"}}});
  EXPECT_TRUE(same_for_rules(base, *Object::from_json(restarted)));
  // A Namespace's labels decide production scope, so they are read.
  auto ns = [](const std::string& env) {
    return *Object::from_json(json{{"apiVersion", "v1"},
                                   {"kind", "Namespace"},
                                   {"metadata", {{"name", "shop"}, {"labels", {{"env", env}}}}}});
  };
  EXPECT_TRUE(same_for_rules(ns("prod"), ns("prod")));
  EXPECT_FALSE(same_for_rules(ns("prod"), ns("dev")));
}

// Objects from the API server keep only what rules read: 50k cached objects must fit in memory.
TEST(Engine, ApiServerObjectsDropWhatNoRuleReads) {
  json svc = json::parse(R"({"apiVersion":"v1","kind":"Service",
    "metadata":{"name":"parking","namespace":"shop","uid":"u-1","resourceVersion":"7",
                "creationTimestamp":"2026-01-01T00:00:00Z","labels":{"app":"parking"},
                "annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}",
                               "application-networking.k8s.aws/federation":"amazon-vpc-lattice"}},
    "spec":{"selector":{"app":"parking"},"ports":[{"port":80}]},
    "status":{"loadBalancer":{}}})");
  Result<Object> api = Object::from_json(svc, "", Origin::kApiServer);
  ASSERT_TRUE(api);
  EXPECT_EQ(api->doc()["metadata"], json::parse(R"({"name":"parking","namespace":"shop","uid":"u-1",
              "creationTimestamp":"2026-01-01T00:00:00Z",
              "annotations":{"application-networking.k8s.aws/federation":"amazon-vpc-lattice"}})"));
  EXPECT_FALSE(api->doc().contains("status"));
  EXPECT_EQ(api->doc()["spec"]["selector"]["app"], "parking");
  // Files and objects under review keep everything: they are rewritten and patched.
  Result<Object> file = Object::from_json(svc);
  ASSERT_TRUE(file);
  EXPECT_EQ(*file->label("app"), "parking");
  // Namespace labels select production namespaces, so they stay.
  Result<Object> ns = Object::from_json(json::parse(R"({"apiVersion":"v1","kind":"Namespace",
        "metadata":{"name":"shop","labels":{"environment":"production"}}})"),
                                        "", Origin::kApiServer);
  ASSERT_TRUE(ns);
  EXPECT_EQ(*ns->label("environment"), "production");
}

// Of a workload, rules read the selector, the pod labels and the containers' names, ports and
// probes; a rollout that changes only the image is nothing to re-check.
TEST(Engine, WorkloadsKeepOnlySelectorPodLabelsPortsAndProbes) {
  auto deployment = [](const std::string& image) {
    return json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment",
      "metadata":{"name":"parking","namespace":"shop"},
      "spec":{"replicas":3,"selector":{"matchLabels":{"app":"parking"}},
        "strategy":{"type":"RollingUpdate"},
        "template":{"metadata":{"labels":{"app":"parking"},"annotations":{"a":"b"}},
          "spec":{"serviceAccountName":"parking","volumes":[{"name":"tmp","emptyDir":{}}],
            "initContainers":[{"name":"migrate","image":"m:1"}],
            "containers":[{"name":"app","image":")" +
                       image + R"(","env":[{"name":"PORT","value":"3000"}],
              "resources":{"requests":{"cpu":"1"}},
              "ports":[{"name":"http","containerPort":3000}],
              "readinessProbe":{"httpGet":{"path":"/ready","port":"http"},"periodSeconds":5},
              "livenessProbe":{"httpGet":{"path":"/live","port":3000}}}]}}}})");
  };
  Result<Object> api = Object::from_json(deployment("app:1"), "", Origin::kApiServer);
  ASSERT_TRUE(api) << api.error().message;
  EXPECT_EQ(api->doc()["spec"], json::parse(R"({"selector":{"matchLabels":{"app":"parking"}},
      "template":{"metadata":{"labels":{"app":"parking"}},
        "spec":{"containers":[{"name":"app","ports":[{"name":"http","containerPort":3000}],
          "readinessProbe":{"httpGet":{"path":"/ready","port":"http"},"periodSeconds":5},
          "livenessProbe":{"httpGet":{"path":"/live","port":3000}}}]}}})"));
  Result<Object> review = Object::from_json(deployment("app:2"));
  ASSERT_TRUE(review);
  EXPECT_EQ(review->doc()["spec"]["replicas"], 3);  // objects under review keep everything
  EXPECT_TRUE(same_for_rules(*api, *review));
  json moved = deployment("app:2");
  moved["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"] = "/v2";
  EXPECT_FALSE(same_for_rules(*api, *Object::from_json(moved)));
}
// Admission checks the cluster before and after a change in one request: facts memoized for
// one view must never answer for another, nor outlive the pass that opened the memo.
TEST(Engine, MemoizedFactsBelongToOneViewAndPass) {
  auto make = [](const char* text) {
    Result<Object> o = Object::from_json(json::parse(text), "", Origin::kApiServer);
    EXPECT_TRUE(o) << o.error().message;
    return std::make_shared<const Object>(*o);
  };
  ObjectIndex index;
  ObjectPtr svc = make(R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"parking",
      "namespace":"shop"},"spec":{"selector":{"app":"parking"},"ports":[{"port":80,
      "targetPort":3000}]}})");
  index.put(svc);
  index.put(make(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"parking",
      "namespace":"shop"},"spec":{"selector":{"matchLabels":{"app":"parking"}},"template":{
      "metadata":{"labels":{"app":"parking"}},"spec":{"containers":[{"name":"app",
      "ports":[{"containerPort":3000}],"readinessProbe":{"httpGet":{"path":"/ready",
      "port":3000}}}]}}}})"));
  ClusterView with_pods(index);
  ClusterView without_pods = with_pods.without(ObjectKey::of(kDeployment, "shop", "parking"));
  Config cfg = Config::defaults();
  {
    FactMemo memo(with_pods, cfg);
    EXPECT_EQ(FactMemo::find(with_pods, &cfg), &memo);
    EXPECT_EQ(FactMemo::find(without_pods), nullptr);
    std::optional<Backing> b = resolve_backing(with_pods, *svc);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->probe_path, "/ready");
    EXPECT_FALSE(resolve_backing(without_pods, *svc));  // not the memoized answer
    ASSERT_TRUE(resolve_backing(with_pods, *svc));      // memoized, still right
  }
  EXPECT_EQ(FactMemo::find(with_pods), nullptr);
}
// The live cache keeps objects packed: every reader must see the same document as before, and
// a document read while a DocPins is open must stay put until it closes.
TEST(Engine, PackedObjectsReadTheSameAndStayPinnedWhileAPassIsOpen) {
  auto api = [](const char* text) {
    Result<Object> o = Object::from_json(json::parse(text), "", Origin::kApiServer);
    EXPECT_TRUE(o) << o.error().message;
    return *o;
  };
  Object svc = api(R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"parking",
      "namespace":"shop","uid":"u-1","annotations":{
      "application-networking.k8s.aws/federation":"amazon-vpc-lattice"}},
      "spec":{"selector":{"app":"parking"},"ports":[{"port":80,"targetPort":3000}]}})");
  Object deploy = api(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"parking",
      "namespace":"shop"},"spec":{"selector":{"matchLabels":{"app":"parking"}},"template":{
      "metadata":{"labels":{"app":"parking"}},"spec":{"containers":[{"name":"app",
      "ports":[{"containerPort":3000}],"readinessProbe":{"httpGet":{"path":"/ready",
      "port":3000}}}]}}}})");
  const json plain = svc.doc();
  Object packed = svc;
  packed.pack();
  ASSERT_TRUE(packed.packed());
  EXPECT_EQ(packed.doc(), plain);  // no pins open: decoded once and kept
  EXPECT_EQ(&packed.doc(), &packed.doc());
  EXPECT_EQ(packed.raw(), plain);
  ASSERT_NE(packed.annotation("application-networking.k8s.aws/federation"), nullptr);
  {
    Object p2 = svc;
    p2.pack();
    DocPins pins;
    const json& a = p2.doc();
    EXPECT_EQ(&a, &p2.doc());
    EXPECT_EQ(a, plain);
    {
      DocPins inner;  // pins go to the outermost scope, which outlives facts kept by inner ones
      EXPECT_EQ(&p2.doc(), &a);
    }
    EXPECT_EQ(a["metadata"]["uid"], "u-1");
  }
  // Rules over packed objects answer as over plain ones.
  ObjectIndex index;
  auto shared_svc = std::make_shared<Object>(svc);
  shared_svc->pack();
  deploy.pack();
  index.put(shared_svc);
  index.put(std::make_shared<const Object>(deploy));
  ClusterView view(index);
  Config cfg = Config::defaults();
  FactMemo memo(view, cfg);
  std::optional<Backing> b = resolve_backing(view, *shared_svc);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->probe_path, "/ready");
  EXPECT_EQ(b->probe_port, 3000);
  // Objects whose raw() is not their doc() (a file's is read again from the file) stay as they
  // are.
  Result<Object> file = Object::from_json(json::parse(R"({"apiVersion":"v1","kind":"Service",
      "metadata":{"name":"x","namespace":"shop"}})"),
                                          "", Origin::kFile);
  ASSERT_TRUE(file);
  Object f = *file;
  f.pack();
  EXPECT_FALSE(f.packed());
}
}  // namespace
}  // namespace latticeguard::testing
