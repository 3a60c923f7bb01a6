// The install manifests as `kubectl apply -k manifests/` would send them: rendered by kubectl's
// own kustomize, then checked for what makes the webhook safe and working.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <tuple>

#include "yaml_json.h"

namespace latticeguard::testing {
namespace {

using nlohmann::json;

const std::string kManifests = std::string(LG_SOURCE_DIR) + "/manifests";
constexpr char kNamespace[] = "latticeguard-system";

// The kinds the engine has rules for: exactly what the validating webhook intercepts.
const std::set<std::tuple<std::string, std::string, std::string>> kValidated = [] {
  std::set<std::tuple<std::string, std::string, std::string>> out;
  for (const char* op : {"CREATE", "UPDATE"}) {
    for (const char* r : {"gateways", "httproutes", "grpcroutes", "tlsroutes", "referencegrants"}) {
      out.insert({"gateway.networking.k8s.io", r, op});
    }
    for (const char* r : {"targetgrouppolicies", "iamauthpolicies", "vpcassociationpolicies",
                          "accesslogpolicies", "serviceexports", "serviceimports"}) {
      out.insert({"application-networking.k8s.aws", r, op});
    }
  }
  out.insert({"gateway.networking.k8s.io", "gateways", "DELETE"});
  out.insert({"gateway.networking.k8s.io", "referencegrants", "DELETE"});
  out.insert({"application-networking.k8s.aws", "iamauthpolicies", "DELETE"});
  return out;
}();

// Every permission the webhook needs, as (group, resource, verb, resourceName or "").
using Permission = std::tuple<std::string, std::string, std::string, std::string>;
std::set<Permission> expected_cluster_permissions() {
  std::set<Permission> out;
  const std::map<std::string, std::vector<std::string>> read = {
      {"", {"namespaces", "services"}},
      {"apps", {"deployments", "statefulsets", "daemonsets"}},
      {"gateway.networking.k8s.io",
       {"gatewayclasses", "gateways", "httproutes", "grpcroutes", "tlsroutes", "referencegrants"}},
      {"application-networking.k8s.aws",
       {"targetgrouppolicies", "iamauthpolicies", "vpcassociationpolicies", "accesslogpolicies",
        "serviceexports", "serviceimports"}},
  };
  for (const auto& [group, resources] : read) {
    for (const std::string& r : resources) {
      for (const char* verb : {"get", "list", "watch"}) out.insert({group, r, verb, ""});
    }
  }
  for (const char* r : {"policyreports", "clusterpolicyreports"}) {
    for (const char* verb : {"get", "list", "create", "update", "delete"}) {
      out.insert({"wgpolicyk8s.io", r, verb, ""});
    }
  }
  for (const char* r : {"validatingwebhookconfigurations", "mutatingwebhookconfigurations"}) {
    for (const char* verb : {"get", "update", "patch"}) {
      out.insert({"admissionregistration.k8s.io", r, verb, "latticeguard"});
    }
  }
  return out;
}

std::set<Permission> expected_namespace_permissions() {
  std::set<Permission> out;
  for (const char* verb : {"get", "update", "patch"}) {
    out.insert({"", "secrets", verb, "latticeguard-tls"});
  }
  out.insert({"coordination.k8s.io", "leases", "create", ""});
  out.insert({"coordination.k8s.io", "leases", "get", "latticeguard-audit"});
  out.insert({"coordination.k8s.io", "leases", "update", "latticeguard-audit"});
  return out;
}

std::set<Permission> permissions(const json& role) {
  std::set<Permission> out;
  for (const json& rule : role.at("rules")) {
    json names = rule.value("resourceNames", json::array({""}));
    for (const json& g : rule.at("apiGroups")) {
      for (const json& r : rule.at("resources")) {
        for (const json& v : rule.at("verbs")) {
          for (const json& n : names) {
            out.insert({g.get<std::string>(), r.get<std::string>(), v.get<std::string>(),
                        n.get<std::string>()});
          }
        }
      }
    }
  }
  return out;
}

// Renders with the real kubectl; a missing kubectl is a failure, not a skip.
std::vector<json> render() {
  const std::string cmd = "kubectl kustomize '" + kManifests + "' 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  if (!pipe) return {};
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  int status = ::pclose(pipe);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "kubectl kustomize failed:\n"
                                                             << out;
  Result<std::vector<json>> docs = yaml_documents(out);
  EXPECT_TRUE(docs) << out;
  return docs ? *docs : std::vector<json>{};
}

class ManifestsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { docs_ = new std::vector<json>(render()); }
  static void TearDownTestSuite() { delete docs_; }

  static const json& one(const std::string& kind) {
    static const json kNull;
    const json* found = nullptr;
    int count = 0;
    for (const json& d : *docs_) {
      if (d.value("kind", "") == kind) {
        found = &d;
        ++count;
      }
    }
    EXPECT_EQ(count, 1) << kind;
    return found ? *found : kNull;
  }
  static const json& container() {
    return one("Deployment")["spec"]["template"]["spec"]["containers"][0];
  }
  static std::vector<json> webhooks() {
    std::vector<json> out;
    for (const char* kind : {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}) {
      for (const json& w : one(kind).value("webhooks", json::array())) out.push_back(w);
    }
    return out;
  }
  static bool has_arg(const std::string& arg) {
    for (const json& a : container().value("args", json::array())) {
      if (a == arg) return true;
    }
    return false;
  }
  static inline std::vector<json>* docs_ = nullptr;
};

TEST_F(ManifestsTest, RendersOnlyTheInstallObjects) {
  std::multiset<std::string> kinds;
  for (const json& d : *docs_) kinds.insert(d.value("kind", ""));
  const std::multiset<std::string> want = {"Namespace",
                                           "ServiceAccount",
                                           "ClusterRole",
                                           "ClusterRoleBinding",
                                           "Role",
                                           "RoleBinding",
                                           "ConfigMap",
                                           "Secret",
                                           "Deployment",
                                           "Service",
                                           "PodDisruptionBudget",
                                           "ValidatingWebhookConfiguration",
                                           "MutatingWebhookConfiguration"};
  EXPECT_EQ(kinds, want);  // no example workloads slip in
  for (const json& d : *docs_) {
    const std::string kind = d.value("kind", "");
    const bool cluster_scoped = kind == "Namespace" || kind.starts_with("Cluster") ||
                                kind.ends_with("WebhookConfiguration");
    if (!cluster_scoped) {
      EXPECT_EQ(d["metadata"].value("namespace", ""), kNamespace) << kind;
    }
  }
}

TEST_F(ManifestsTest, WebhooksHaveSafeSettings) {
  std::vector<json> hooks = webhooks();
  ASSERT_GE(hooks.size(), 3u);
  const json& svc = one("Service");
  for (const json& w : hooks) {
    SCOPED_TRACE(w.value("name", ""));
    EXPECT_EQ(w["sideEffects"], "None");
    EXPECT_EQ(w["admissionReviewVersions"], json::array({"v1"}));
    EXPECT_EQ(w["matchPolicy"], "Equivalent");
    EXPECT_EQ(w["timeoutSeconds"], 5);
    EXPECT_FALSE(w.contains("objectSelector"));
    EXPECT_TRUE(w["failurePolicy"] == "Fail" || w["failurePolicy"] == "Ignore");
    const json& ref = w["clientConfig"]["service"];
    EXPECT_EQ(ref["name"], svc["metadata"]["name"]);
    EXPECT_EQ(ref["namespace"], kNamespace);
    EXPECT_EQ(ref["port"], 443);
    EXPECT_FALSE(w["clientConfig"].contains("caBundle"));  // self-managed: the webhook sets it
    const json exprs = w["namespaceSelector"]["matchExpressions"];
    bool excluded = false;
    for (const json& e : exprs) {
      if (e["key"] == "kubernetes.io/metadata.name" && e["operator"] == "NotIn") {
        std::set<std::string> values = e["values"].get<std::set<std::string>>();
        excluded = values.count("kube-system") && values.count(kNamespace);
      }
    }
    EXPECT_TRUE(excluded) << exprs.dump();
  }
}

TEST_F(ManifestsTest, ValidatingWebhookCoversExactlyTheRuleKinds) {
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  const json& config = one("ValidatingWebhookConfiguration");
  for (const json& w : config["webhooks"]) {
    EXPECT_EQ(w["clientConfig"]["service"]["path"], "/validate");
    for (const json& rule : w["rules"]) {
      EXPECT_EQ(rule["apiVersions"], json::array({"*"}));  // with matchPolicy Equivalent
      for (const json& g : rule["apiGroups"]) {
        for (const json& r : rule["resources"]) {
          for (const json& op : rule["operations"]) {
            seen.insert({g.get<std::string>(), r.get<std::string>(), op.get<std::string>()});
          }
        }
      }
    }
  }
  EXPECT_EQ(seen, kValidated);
}

TEST_F(ManifestsTest, DeletesFailOpenAndCreatesFailClosed) {
  for (const json& w : one("ValidatingWebhookConfiguration")["webhooks"]) {
    bool deletes = false;
    for (const json& rule : w["rules"]) {
      for (const json& op : rule["operations"]) deletes = deletes || op == "DELETE";
    }
    // A webhook outage must never leave a namespace stuck in Terminating.
    EXPECT_EQ(w["failurePolicy"], deletes ? "Ignore" : "Fail") << w["name"];
  }
  for (const json& w : one("MutatingWebhookConfiguration")["webhooks"]) {
    EXPECT_EQ(w["failurePolicy"], "Ignore");
    EXPECT_EQ(w["clientConfig"]["service"]["path"], "/mutate");
    for (const json& rule : w["rules"]) {
      EXPECT_EQ(rule["operations"], json::array({"CREATE"}));
      for (const json& g : rule["apiGroups"]) {
        for (const json& r : rule["resources"]) {
          EXPECT_TRUE(kValidated.count({g.get<std::string>(), r.get<std::string>(), "CREATE"}))
              << r;
        }
      }
    }
  }
}

TEST_F(ManifestsTest, FailurePolicyAndOptInWorkloadRuleAreDocumentedInTheFile) {
  const std::string text = read_text(kManifests + "/validatingwebhookconfiguration.yaml");
  EXPECT_NE(text.find("# failurePolicy, and what an outage means for you"), std::string::npos);
  EXPECT_NE(text.find("# Recovery during an outage"), std::string::npos);
  EXPECT_NE(text.find("# - name: workloads.validate.latticeguard.io"), std::string::npos);
  EXPECT_NE(text.find("#       resources: [deployments, statefulsets, daemonsets]"),
            std::string::npos);
  EXPECT_NE(read_text(kManifests + "/mutatingwebhookconfiguration.yaml").find("# failurePolicy"),
            std::string::npos);
}

TEST_F(ManifestsTest, DeploymentIsHardened) {
  const json& spec = one("Deployment")["spec"];
  EXPECT_EQ(spec["replicas"], 2);
  const json& pod = spec["template"]["spec"];
  EXPECT_EQ(pod["securityContext"]["runAsNonRoot"], true);
  EXPECT_EQ(pod["securityContext"]["runAsUser"], 65532);
  EXPECT_EQ(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
  EXPECT_GE(pod["topologySpreadConstraints"].size(), 1u);
  const json& c = container();
  EXPECT_EQ(c["securityContext"]["readOnlyRootFilesystem"], true);
  EXPECT_EQ(c["securityContext"]["allowPrivilegeEscalation"], false);
  EXPECT_EQ(c["securityContext"]["capabilities"]["drop"], json::array({"ALL"}));
  EXPECT_EQ(c["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
  EXPECT_FALSE(c["image"].get<std::string>().ends_with(":latest"));
  EXPECT_NE(c["image"].get<std::string>().find(':'), std::string::npos);
  EXPECT_TRUE(c["resources"]["requests"].contains("cpu"));
  EXPECT_TRUE(c["resources"]["requests"].contains("memory"));
  EXPECT_TRUE(c["resources"]["limits"].contains("memory"));
}

TEST_F(ManifestsTest, ProbesAndDrainUseTheHttpsPort) {
  const json& c = container();
  EXPECT_EQ(c["ports"][0]["containerPort"], 8443);
  EXPECT_EQ(c["ports"][0]["name"], "https");
  EXPECT_EQ(c["livenessProbe"]["httpGet"],
            (json{{"path", "/healthz"}, {"port", "https"}, {"scheme", "HTTPS"}}));
  EXPECT_EQ(c["readinessProbe"]["httpGet"],
            (json{{"path", "/readyz"}, {"port", "https"}, {"scheme", "HTTPS"}}));
  const int sleep = c["lifecycle"]["preStop"]["sleep"]["seconds"];
  EXPECT_GT(sleep, 0);
  const int grace = one("Deployment")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"];
  EXPECT_GT(grace, sleep + 5);  // drain, then finish calls of up to timeoutSeconds
  EXPECT_TRUE(has_arg("--listen=0.0.0.0:8443"));
}

TEST_F(ManifestsTest, SelfManagedCertificatesAreWiredTogether) {
  EXPECT_TRUE(has_arg("--self-signed-certs"));
  EXPECT_TRUE(has_arg("--cert-secret=" + one("Secret")["metadata"]["name"].get<std::string>()));
  const std::string config_name = one("ValidatingWebhookConfiguration")["metadata"]["name"];
  EXPECT_EQ(one("MutatingWebhookConfiguration")["metadata"]["name"], config_name);
  EXPECT_TRUE(has_arg("--webhook-config-name=" + config_name));
  EXPECT_FALSE(one("Secret").contains("data"));  // apply must never overwrite issued certs
  // The certificate directory is writable (the root filesystem is not); config is a ConfigMap.
  std::map<std::string, std::string> mounts;
  for (const json& m : container()["volumeMounts"]) mounts[m["mountPath"]] = m["name"];
  std::map<std::string, json> volumes;
  for (const json& v : one("Deployment")["spec"]["template"]["spec"]["volumes"]) {
    volumes[v["name"]] = v;
  }
  EXPECT_TRUE(has_arg("--tls-cert=/etc/latticeguard/tls/tls.crt"));
  EXPECT_TRUE(has_arg("--tls-key=/etc/latticeguard/tls/tls.key"));
  EXPECT_TRUE(volumes[mounts["/etc/latticeguard/tls"]].contains("emptyDir"));
  EXPECT_TRUE(has_arg("--config=/etc/latticeguard/config/config.yaml"));
  EXPECT_EQ(volumes[mounts["/etc/latticeguard/config"]]["configMap"]["name"],
            one("ConfigMap")["metadata"]["name"]);
}

TEST_F(ManifestsTest, ConfigMapHoldsAValidConfigFile) {
  Result<std::vector<json>> cfg = yaml_documents(one("ConfigMap")["data"]["config.yaml"]);
  ASSERT_TRUE(cfg);
  ASSERT_EQ(cfg->size(), 1u);
  const json& c = cfg->front();
  EXPECT_TRUE(c["rules"].is_object());
  EXPECT_EQ(c["productionNamespaces"]["matchExpressions"][0]["values"],
            json::array({"production", "prod"}));
  EXPECT_TRUE(c["defaultHostname"].contains("domain"));
  EXPECT_EQ(c["failOpenUntilSynced"], true);
}

TEST_F(ManifestsTest, ServiceAndPdbSelectTheWebhookPods) {
  const json& labels = one("Deployment")["spec"]["template"]["metadata"]["labels"];
  auto selects = [&](const json& selector) {
    for (const auto& [k, v] : selector.items()) {
      if (labels.value(k, json()) != v) return false;
    }
    return !selector.empty();
  };
  const json& svc = one("Service")["spec"];
  EXPECT_TRUE(selects(svc["selector"]));
  EXPECT_EQ(svc["ports"][0]["port"], 443);
  EXPECT_EQ(svc["ports"][0]["targetPort"], "https");
  const json& pdb = one("PodDisruptionBudget")["spec"];
  EXPECT_EQ(pdb["minAvailable"], 1);
  EXPECT_TRUE(selects(pdb["selector"]["matchLabels"]));
}

TEST_F(ManifestsTest, RbacIsLeastPrivilege) {
  for (const char* kind : {"ClusterRole", "Role"}) {
    for (const json& rule : one(kind)["rules"]) {
      for (const char* field : {"apiGroups", "resources", "verbs", "resourceNames"}) {
        for (const json& v : rule.value(field, json::array())) {
          EXPECT_NE(v, "*") << kind << " " << rule.dump();
          EXPECT_EQ(v.get<std::string>().find('/'), std::string::npos);  // no subresources
        }
      }
    }
  }
  EXPECT_EQ(permissions(one("ClusterRole")), expected_cluster_permissions());
  EXPECT_EQ(permissions(one("Role")), expected_namespace_permissions());
  // Secrets and webhook configurations only by name.
  for (const auto& [g, r, v, name] : permissions(one("ClusterRole"))) {
    if (r == "secrets" || r.ends_with("webhookconfigurations")) {
      EXPECT_FALSE(name.empty()) << r;
    }
  }
  for (const auto& [g, r, v, name] : permissions(one("Role"))) {
    if (r == "secrets") {
      EXPECT_EQ(name, one("Secret")["metadata"]["name"]) << v;
    }
  }
}

TEST_F(ManifestsTest, BindingsGrantTheDeploymentsServiceAccount) {
  const std::string sa = one("ServiceAccount")["metadata"]["name"];
  EXPECT_EQ(one("Deployment")["spec"]["template"]["spec"]["serviceAccountName"], sa);
  for (const char* kind : {"ClusterRoleBinding", "RoleBinding"}) {
    const json& b = one(kind);
    EXPECT_EQ(b["subjects"],
              json::array({{{"kind", "ServiceAccount"}, {"name", sa}, {"namespace", kNamespace}}}))
        << kind;
  }
  EXPECT_EQ(one("ClusterRoleBinding")["roleRef"]["name"], one("ClusterRole")["metadata"]["name"]);
  EXPECT_EQ(one("RoleBinding")["roleRef"]["name"], one("Role")["metadata"]["name"]);
}

}  // namespace
}  // namespace latticeguard::testing
