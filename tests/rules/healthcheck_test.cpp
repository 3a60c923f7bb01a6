// Health-check rules where a fixture cannot show it: workload kinds, port and probe resolution,
// protocol defaults, removal impact, and the default-path fix applied end to end.
#include <gtest/gtest.h>

#include "rules/core/fix.h"
#include "rules/core/manifest.h"
#include "rules/registry.h"
#include "tests/rules/test_util.h"

namespace latticeguard::testing {
namespace {

// A workload of `kind` labelled app=web whose single pod template holds `containers` (YAML list).
std::string workload(const std::string& kind, const std::string& containers) {
  return "apiVersion: apps/v1\nkind: " + kind +
         "\nmetadata: {name: web, namespace: shop}\n"
         "spec:\n  selector: {matchLabels: {app: web}}\n  template:\n"
         "    metadata: {labels: {app: web}}\n    spec:\n      containers:\n" +
         containers;
}

std::string service(const std::string& target_port) {
  return "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n"
         "spec: {selector: {app: web}, ports: [{port: 80, targetPort: " +
         target_port + "}]}\n";
}

std::string tgp(const std::string& spec_extra, const std::string& health_check) {
  return "apiVersion: application-networking.k8s.aws/v1alpha1\nkind: TargetGroupPolicy\n"
         "metadata: {name: web, namespace: shop}\nspec:\n"
         "  targetRef: {group: \"\", kind: Service, name: web}\n" +
         spec_extra + (health_check.empty() ? "" : "  healthCheck: " + health_check + "\n");
}

const char* kProbed = R"(      - name: web
        ports: [{containerPort: 3000}]
        readinessProbe: {httpGet: {path: /v1/health, port: 3000}}
)";

std::vector<std::string> run(const std::vector<std::string>& docs, std::string_view rule) {
  World w;
  for (const std::string& d : docs) w.add_text(d);
  EXPECT_TRUE(w.error.empty()) << w.error;
  return describe(w.lint_rule(rule));
}

const std::vector<std::string> kDenyPath = {
    "deny TargetGroupPolicy shop/web /spec/healthCheck/path"};

TEST(HealthCheck, EveryWorkloadKindIsFollowed) {
  for (const char* kind : {"Deployment", "StatefulSet", "DaemonSet"}) {
    SCOPED_TRACE(kind);
    std::vector<std::string> docs = {workload(kind, kProbed), service("3000"),
                                     tgp("", "{path: /health}")};
    EXPECT_EQ(run(docs, "hc-path-matches-probe"), kDenyPath);
    docs[2] = tgp("", "{path: /v1/health}");
    EXPECT_TRUE(run(docs, "hc-path-matches-probe").empty());
  }
}

TEST(HealthCheck, ProbeFallbackIsReadinessThenStartupThenLiveness) {
  const std::string live = "        livenessProbe: {httpGet: {path: /live, port: 3000}}\n";
  const std::string start = "        startupProbe: {httpGet: {path: /start, port: 3000}}\n";
  const std::string ready = "        readinessProbe: {httpGet: {path: /ready, port: 3000}}\n";
  const std::string head = "      - name: web\n        ports: [{containerPort: 3000}]\n";
  auto path_ok = [&](const std::string& probes, const std::string& path) {
    return run({workload("Deployment", head + probes), service("3000"),
                tgp("", "{path: " + path + "}")},
               "hc-path-matches-probe")
        .empty();
  };
  EXPECT_TRUE(path_ok(live + start + ready, "/ready"));
  EXPECT_FALSE(path_ok(live + start + ready, "/start"));
  EXPECT_TRUE(path_ok(live + start, "/start"));
  EXPECT_FALSE(path_ok(live + start, "/live"));
  EXPECT_TRUE(path_ok(live, "/live"));
  // A readiness probe that is not httpGet gives way to the next httpGet probe.
  const std::string tcp_ready = "        readinessProbe: {tcpSocket: {port: 3000}}\n";
  EXPECT_TRUE(path_ok(tcp_ready + live, "/live"));
}

TEST(HealthCheck, NamedTargetPortSelectsTheOwningContainerAndNamedProbePort) {
  // The sidecar comes first and has its own probe; the Service's targetPort "http" belongs to
  // the second container, whose probe uses the named port "admin".
  const std::string containers = R"(      - name: sidecar
        ports: [{name: metrics, containerPort: 9090}]
        readinessProbe: {httpGet: {path: /sidecar, port: metrics}}
      - name: app
        ports: [{name: http, containerPort: 8080}, {name: admin, containerPort: 9901}]
        readinessProbe: {httpGet: {path: /ready, port: admin}}
)";
  std::vector<std::string> docs = {workload("Deployment", containers), service("http"),
                                   tgp("", "{path: /ready}")};
  EXPECT_TRUE(run(docs, "hc-path-matches-probe").empty());
  // No port: Lattice checks 8080 (the resolved targetPort), the probe uses 9901.
  EXPECT_EQ(run(docs, "hc-port-matches-workload"),
            std::vector<std::string>{"warn TargetGroupPolicy shop/web /spec/healthCheck"});
  docs[2] = tgp("", "{path: /ready, port: 9901}");
  EXPECT_TRUE(run(docs, "hc-port-matches-workload").empty());
  docs[2] = tgp("", "{path: /ready, port: 9090}");  // the sidecar's port, not the probe's
  EXPECT_EQ(run(docs, "hc-port-matches-workload"),
            std::vector<std::string>{"deny TargetGroupPolicy shop/web /spec/healthCheck/port"});
}

TEST(HealthCheck, Http2TargetGroupsAreNotCheckedUnlessEnabled) {
  std::vector<std::string> docs = {workload("Deployment", kProbed), service("3000"),
                                   tgp("  protocolVersion: HTTP2\n", "{path: /health}")};
  EXPECT_TRUE(run(docs, "hc-path-matches-probe").empty());
  docs[2] = tgp("  protocolVersion: HTTP2\n", "");
  EXPECT_TRUE(run(docs, "hc-path-matches-probe").empty());
  docs[2] = tgp("  protocolVersion: HTTP2\n", "{enabled: true, path: /health}");
  EXPECT_EQ(run(docs, "hc-path-matches-probe"), kDenyPath);
  // Explicitly off on HTTP1: nothing is checked, so nothing can mismatch.
  docs[2] = tgp("", "{enabled: false, path: /health}");
  EXPECT_TRUE(run(docs, "hc-path-matches-probe").empty());
}

const char* kLatticeRoute = R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: shop}
spec:
  parentRefs: [{name: sn}]
  rules: [{backendRefs: [{name: web, port: 80}]}]
)";

TEST(HealthCheck, DeletingThePolicyWithThePathWarnsOnTheService) {
  World w;
  for (const std::string& d : {workload("Deployment", kProbed), service("3000"),
                               tgp("", "{path: /v1/health}"), std::string(kLatticeRoute)}) {
    w.add_text(d);
  }
  ASSERT_TRUE(w.error.empty()) << w.error;
  EXPECT_TRUE(w.lint_rule("hc-default-path-not-served").empty());
  Engine engine(all_rules(), w.config);
  ClusterView before(w.index);
  const Object* policy = before.find(kTargetGroupPolicy, "shop", "web");
  ASSERT_NE(policy, nullptr);
  std::vector<Finding> impact =
      engine.check_removal(*policy, before, before.without(ObjectKey::of(*policy)));
  EXPECT_EQ(
      describe(impact, true),
      std::vector<std::string>{"warn Service shop/web /spec/ports/0 hc-default-path-not-served"});
  ASSERT_EQ(impact.size(), 1u);
  EXPECT_NE(impact[0].message.find("add a TargetGroupPolicy"), std::string::npos);
}

TEST(HealthCheck, GrpcOnlyBackendIsNotCheckedByDefault) {
  std::string grpc = kLatticeRoute;
  grpc.replace(grpc.find("HTTPRoute"), 9, "GRPCRoute");
  std::vector<std::string> docs = {workload("Deployment", kProbed), service("3000"), grpc};
  EXPECT_TRUE(run(docs, "hc-default-path-not-served").empty());
  docs.push_back(kLatticeRoute);  // an HTTPRoute too: an HTTP1 target group exists
  EXPECT_EQ(run(docs, "hc-default-path-not-served"),
            std::vector<std::string>{"warn Service shop/web /spec/ports/0"});
}

TEST(HealthCheck, DefaultPathFixFillsEveryFieldAndKeepsTheUsers) {
  // A TGP with part of a health check: the fix adds the rest and never overwrites.
  World w;
  const std::string policy = tgp("", "{intervalSeconds: 30, statusMatch: \"200\"}");
  for (const std::string& d : {workload("Deployment", kProbed), service("3000"), policy}) {
    w.add_text(d);
  }
  ASSERT_TRUE(w.error.empty()) << w.error;
  std::vector<Finding> f = w.lint_rule("hc-path-matches-probe");
  ASSERT_EQ(f.size(), 1u);
  ASSERT_TRUE(f[0].fix);
  json fixed = apply_fixes(f[0].object->raw(), std::vector<Fix>{*f[0].fix});
  const json& hc = fixed["spec"]["healthCheck"];
  EXPECT_EQ(hc["path"], "/v1/health");
  EXPECT_EQ(hc["intervalSeconds"], 30);  // the user's value stays
  EXPECT_EQ(hc["statusMatch"], "200");
  EXPECT_EQ(hc["timeoutSeconds"], 1);
  EXPECT_EQ(hc["healthyThresholdCount"], 2);
  EXPECT_EQ(hc["unhealthyThresholdCount"], 3);
  EXPECT_FALSE(hc.contains("port"));  // 3000 is already the traffic port
}

TEST(HealthCheck, LintFixWritesTheWholeHealthCheckIntoTheYaml) {
  World w;
  const std::string policy = tgp("  protocol: HTTP\n", "");
  for (const std::string& d : {workload("Deployment", kProbed), service("3000"), policy}) {
    w.add_text(d);
  }
  ASSERT_TRUE(w.error.empty()) << w.error;
  const ObjectPtr& o = w.objects.back();
  ClusterView view(w.index);
  std::vector<Fix> fixes = safe_fixes(view, *o, *w.config, Operation::kCreate, {});
  json patch = make_patch(o->raw(), apply_fixes(o->raw(), fixes));
  Result<std::string> text = apply_ops_to_yaml(policy, {patch});
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_NE(text->find("  healthCheck:\n    healthyThresholdCount: 2\n    intervalSeconds: 10\n"
                       "    path: /v1/health\n    statusMatch: \"200-399\"\n"
                       "    timeoutSeconds: 1\n    unhealthyThresholdCount: 3\n"),
            std::string::npos)
      << *text;
  // The written file decodes to the fixed object.
  Result<ManifestFile> again = decode_manifest(*text, "fixed.yaml", "default");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->objects.at(0)->raw()["spec"]["healthCheck"]["statusMatch"], "200-399");
}

}  // namespace
}  // namespace latticeguard::testing
