// Catalogue rules for domains, limits, unsupported features and workloads: what fixtures cannot
// express (UPDATE with an old object, rule options) and the upstream examples of
// lattice-rules.md §9, re-pointed at a Lattice Gateway where they target another controller.
#include <gtest/gtest.h>

#include <filesystem>

#include "rules/core/lattice.h"
#include "rules/registry.h"
#include "tests/rules/test_util.h"

namespace latticeguard::testing {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> matching(const std::string& dir, const std::string& prefix,
                                  const std::string& infix = "") {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string n = e.path().filename().string();
    if (n.rfind(prefix, 0) == 0 && n.find(infix, prefix.size()) != std::string::npos &&
        e.path().extension() == ".yaml") {
      out.push_back(e.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

const std::string kStandard = corpus("kubernetes-sigs__gateway-api/examples/standard");

TEST(CatalogueB, MixedStandaloneRoutesSecretCertAndAutoDiscoveredDomains) {
  World w;
  w.add_file(
      corpus("aws__aws-application-networking-k8s/files/examples/mixed-standalone-routes.yaml"));
  ASSERT_TRUE(w.error.empty()) << w.error;
  EXPECT_EQ(describe(w.lint_rule("listener-config")),
            (std::vector<std::string>{
                "warn Gateway default/mixed-gateway /spec/listeners/1/tls/certificateRefs"}));
  EXPECT_EQ(describe(w.lint_rule("custom-domain-hostnames")),
            (std::vector<std::string>{
                "warn HTTPRoute default/https-networked-route /spec/hostnames/0",
                "warn HTTPRoute default/https-standalone-route /spec/hostnames/0"}));
  // HTTPRoutes without sectionName attach to http and https only (TLS admits TLSRoutes).
  EXPECT_TRUE(w.lint_rule("lattice-quota-shape").empty());
  EXPECT_TRUE(w.lint_rule("tlsroute-shape").empty());
}

TEST(CatalogueB, GatewayApiHeaderModifiersWarn) {
  std::vector<std::string> files = matching(kStandard, "http-", "-header-");
  ASSERT_EQ(files.size(), 3u);
  for (const std::string& f : files) {
    World w = repointed({f});
    std::vector<Finding> got = w.lint_rule("ignored-filters-and-timeouts");
    ASSERT_FALSE(got.empty()) << f;
    for (const Finding& x : got) EXPECT_EQ(x.action, Action::kWarn) << f << " " << x.pointer;
  }
}

TEST(CatalogueB, GatewayApiRedirectsAndRewritesDeny) {
  std::vector<std::string> files = matching(kStandard, "http-redirect");
  files.push_back(kStandard + "/http-rewrite.yaml");
  ASSERT_GE(files.size(), 3u);
  for (const std::string& f : files) {
    World w = repointed({f});
    std::vector<Finding> got = w.lint_rule("ignored-filters-and-timeouts");
    ASSERT_FALSE(got.empty()) << f;
    EXPECT_TRUE(std::any_of(got.begin(), got.end(), [](const Finding& x) {
      return x.action == Action::kDeny;
    })) << f;
  }
}

TEST(CatalogueB, GatewayApiTlsRoutingHasTheShapeLatticeServes) {
  std::vector<std::string> files = {kStandard + "/tls-routing/gateway.yaml",
                                    kStandard + "/tls-routing/tls-route.yaml"};
  World ok = repointed(files);
  EXPECT_TRUE(ok.lint_rule("tlsroute-shape").empty());
  // The same route in its older form: v1alpha2, no hostnames.
  World old = repointed(files);
  auto route = std::find_if(old.objects.begin(), old.objects.end(),
                            [](const ObjectPtr& o) { return o->kind() == kTLSRoute; });
  ASSERT_NE(route, old.objects.end());
  json raw = (*route)->raw();
  raw["apiVersion"] = "gateway.networking.k8s.io/v1alpha2";
  raw["spec"].erase("hostnames");
  old.objects.erase(route);
  old.add_json(raw);
  EXPECT_EQ(describe(old.lint_rule("tlsroute-shape")),
            (std::vector<std::string>{"deny TLSRoute default/example-route /apiVersion",
                                      "deny TLSRoute default/example-route /spec/hostnames"}));
}

// UPDATE: runs the engine on `after` (added to `w`) with `before` as the old object; the
// enforced findings of `rule`.
std::vector<Finding> run_update(World& w, const std::string& before, const std::string& after,
                                std::string_view rule) {
  World b;
  b.add_text(before);
  w.add_text(after);
  EXPECT_TRUE(w.error.empty() && b.error.empty()) << w.error << b.error;
  Engine engine(all_rules(), w.config);
  ClusterView view = ClusterView(w.index).with(w.objects.back());
  std::vector<Finding> f =
      engine.check(w.objects.back(), view, Operation::kUpdate, b.objects.back().get());
  std::erase_if(f, [&](const Finding& x) { return rule_id(x) != rule || !is_enforced(x); });
  return f;
}

std::string route_with(const std::string& hostnames) {
  return R"(
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: review, namespace: shop}
spec:
  parentRefs: [{name: my-hotel}]
)" + hostnames +
         R"(
  rules:
  - backendRefs: [{name: review, port: 80}]
)";
}

TEST(CatalogueB, CustomDomainCannotChangeOnUpdate) {
  const std::string a = route_with("  hostnames: [review.example.com]");
  const std::string b = route_with("  hostnames: [review2.example.com]");
  const std::string none = route_with("");
  const std::string two = route_with("  hostnames: [review.example.com, r.example.org]");
  auto run = [&](const std::string& before, const std::string& after) {
    World w;
    w.config->assume_lattice = true;
    std::vector<std::string> d = describe(run_update(w, before, after, "custom-domain-hostnames"));
    std::erase_if(d, [](const std::string& s) { return s.rfind("deny", 0) != 0; });
    return d;
  };
  EXPECT_EQ(run(a, b), (std::vector<std::string>{"deny HTTPRoute shop/review /spec/hostnames/0"}));
  EXPECT_EQ(run(none, a),
            (std::vector<std::string>{"deny HTTPRoute shop/review /spec/hostnames/0"}));
  EXPECT_EQ(run(a, none), (std::vector<std::string>{"deny HTTPRoute shop/review /spec/hostnames"}));
  EXPECT_TRUE(run(a, a).empty());
  EXPECT_TRUE(run(a, two).empty());  // adding a second hostname leaves the domain alone
  EXPECT_TRUE(run(none, none).empty());
}

const std::string kThreeListeners = kLatticeClass + R"(---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: my-hotel, namespace: shop}
spec:
  gatewayClassName: amazon-vpc-lattice
  listeners:
  - {name: a, protocol: HTTP, port: 80}
  - {name: b, protocol: HTTP, port: 81}
  - {name: c, protocol: HTTP, port: 82}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: shop}
spec:
  parentRefs: [{name: my-hotel}]
  rules:
  - matches: [{path: {value: /a}}]
    backendRefs: [{name: s1, port: 80}]
  - matches: [{path: {value: /b}}]
    backendRefs: [{name: s2, port: 80}]
  - backendRefs: [{name: s3, port: 80}]
)";

std::vector<std::string> quota(const std::string& config) {
  World w;
  if (!config.empty()) {
    Result<Config> c = Config::parse_yaml(config, "config.yaml");
    EXPECT_TRUE(c) << c.error().message;
    if (c) *w.config = *c;
  }
  w.add_text(kThreeListeners);
  EXPECT_TRUE(w.error.empty()) << w.error;
  return describe(w.lint_rule("lattice-quota-shape"));
}

TEST(CatalogueB, QuotaOptionsReplaceTheDefaults) {
  EXPECT_EQ(quota(""), (std::vector<std::string>{"warn HTTPRoute shop/r /spec/parentRefs"}));
  EXPECT_TRUE(quota("rules: {lattice-quota-shape: {options: {listenersPerService: 3}}}").empty());
  EXPECT_EQ(quota("rules: {lattice-quota-shape: {options: {listenersPerService: 3, "
                  "rulesPerListener: 2, targetGroupsPerService: 2}}}"),
            (std::vector<std::string>{"warn HTTPRoute shop/r /spec/rules",
                                      "warn HTTPRoute shop/r /spec/rules"}));
  // Nonsense values fall back to the defaults.
  EXPECT_EQ(quota("rules: {lattice-quota-shape: {options: {listenersPerService: many}}}"),
            (std::vector<std::string>{"warn HTTPRoute shop/r /spec/parentRefs"}));
}

const std::string kServiceAndPolicy = R"(
apiVersion: v1
kind: Service
metadata: {name: demo-app-a, namespace: default}
spec:
  selector: {app: demo-app-a}
  ports: [{port: 80, targetPort: 3000}]
---
apiVersion: application-networking.k8s.aws/v1alpha1
kind: TargetGroupPolicy
metadata: {name: tg-policy-demo-app-a, namespace: default}
spec:
  targetRef: {group: "", kind: Service, name: demo-app-a}
  healthCheck: {path: /v1/health, port: 3000}
)";

std::string deployment(const std::string& path, int port = 3000) {
  return R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: demo-app-a, namespace: default}
spec:
  selector: {matchLabels: {app: demo-app-a}}
  template:
    metadata: {labels: {app: demo-app-a, version: v1}}
    spec:
      containers:
      - name: app
        image: demo:latest
        ports: [{containerPort: 3000}]
        readinessProbe: {httpGet: {path: )" +
         path + ", port: " + std::to_string(port) + "}}\n";
}

std::vector<Finding> workload_update(const std::string& before, const std::string& after,
                                     bool enabled) {
  World w;
  if (enabled) {
    *w.config = *Config::parse_yaml("rules: {workload-probe-breaks-health-check: deny}", "c");
  }
  w.add_text(kServiceAndPolicy);
  return run_update(w, before, after, "workload-probe-breaks-health-check");
}

TEST(CatalogueB, WorkloadUpdateThatMovesTheProbeIsDeniedNamingThePolicy) {
  std::vector<Finding> f = workload_update(deployment("/v1/health"), deployment("/healthz"), true);
  ASSERT_EQ(describe(f), (std::vector<std::string>{
                             "deny Deployment default/demo-app-a "
                             "/spec/template/spec/containers/0/readinessProbe/httpGet/path"}));
  EXPECT_NE(f[0].message.find("tg-policy-demo-app-a"), std::string::npos) << f[0].message;
  EXPECT_NE(f[0].message.find("/v1/health"), std::string::npos) << f[0].message;

  f = workload_update(deployment("/v1/health"), deployment("/v1/health", 8080), true);
  EXPECT_EQ(describe(f), (std::vector<std::string>{
                             "deny Deployment default/demo-app-a "
                             "/spec/template/spec/containers/0/readinessProbe/httpGet/port"}));
}

TEST(CatalogueB, WorkloadUpdateLeavesUnrelatedOrAlreadyBrokenProbesAlone) {
  // Nothing the health check relies on changes.
  EXPECT_TRUE(workload_update(deployment("/v1/health"), deployment("/v1/health"), true).empty());
  // The probe never matched the policy: this change breaks nothing (hc-path-matches-probe's job).
  EXPECT_TRUE(workload_update(deployment("/old"), deployment("/healthz"), true).empty());
  // Off by default: the webhook does not see workloads unless the team opts in.
  EXPECT_TRUE(workload_update(deployment("/v1/health"), deployment("/healthz"), false).empty());
}

const char* const kMyRules[] = {
    "backend-service-type",
    "case-sensitivity-notice",
    "custom-domain-hostnames",
    "custom-domain-unique-in-service-network",
    "hostname-listener-intersection",
    "ignored-filters-and-timeouts",
    "ineffective-annotations",
    "lattice-quota-shape",
    "lattice-rule-shape",
    "listener-config",
    "tlsroute-shape",
    "unsupported-match-types",
    "workload-probe-breaks-health-check",
};

TEST(CatalogueB, FixtureMessagesFitOneLine) {
  for (const char* id : kMyRules) {
    const Rule* r = find_rule(id);
    ASSERT_NE(r, nullptr) << id;
    std::string path = std::string(LG_SOURCE_DIR) + "/rules/" + rule_stem(*r) + ".yaml";
    std::string text = read_file(path);
    World w;
    size_t c = text.find("# config: ");
    if (c != std::string::npos) {
      *w.config = *Config::parse_yaml(text.substr(c + 10, text.find('\n', c) - c - 10), path);
    }
    w.add_text(text, path);
    ASSERT_TRUE(w.error.empty()) << w.error;
    std::vector<Finding> f = w.lint_rule(id);
    EXPECT_FALSE(f.empty()) << id;
    for (const Finding& x : f) {
      EXPECT_LE(x.message.size(), 120u) << id << ": " << x.message;
      EXPECT_NE(x.message.back(), '.') << id << ": " << x.message;
    }
  }
}

TEST(CatalogueB, TutorialGetsOneCaseNoticeAndNothingElse) {
  World w;
  for (const auto& e :
       fs::directory_iterator(std::string(LG_SOURCE_DIR) + "/manifests/examples/tutorial")) {
    if (e.path().extension() == ".yaml") w.add_file(e.path().string());
  }
  ASSERT_TRUE(w.error.empty()) << w.error;
  for (const char* id : kMyRules) {
    std::vector<std::string> d = describe(w.lint_rule(id));
    if (std::string_view(id) == "case-sensitivity-notice") {
      EXPECT_EQ(d, (std::vector<std::string>{
                       "audit HTTPRoute default/demo-http-route /spec/rules/0/matches/0/path"}));
    } else {
      EXPECT_TRUE(d.empty()) << id << ": " << (d.empty() ? "" : d[0]);
    }
  }
}

}  // namespace
}  // namespace latticeguard::testing
