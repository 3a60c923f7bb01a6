// `latticeguard serve --cluster-state` as an operator sees it: denials from the other side
// (deleting what a route needs), the mutation that fills a health check from the probe, denial
// messages naming the field and the rule, config reload (valid and invalid), metrics, and a
// graceful SIGTERM.
#include <gtest/gtest.h>
#include <signal.h>

#include <set>
#include <sstream>

#include "tests/serve/serve_util.h"

namespace latticeguard::serve_test {
namespace {

// Reviews that read a cluster object from the decoded-document cache.
constexpr const char* kDocCacheHits = "latticeguard_doc_cache_lookups_total{result=\"hit\"}";

// Beside the tutorial (namespace default): a production namespace whose route is covered by an
// IAMAuthPolicy, and a workload with a readiness probe but no TargetGroupPolicy yet.
constexpr const char* kProduction = R"(apiVersion: v1
kind: Namespace
metadata:
  name: payments
  labels:
    environment: production
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout
  namespace: payments
spec:
  selector:
    matchLabels: {app: checkout}
  template:
    metadata:
      labels: {app: checkout}
    spec:
      containers:
        - name: checkout
          image: example/checkout:1
          ports: [{containerPort: 8080}]
          readinessProbe:
            httpGet: {path: /healthz, port: 8080}
---
apiVersion: v1
kind: Service
metadata:
  name: checkout
  namespace: payments
spec:
  selector: {app: checkout}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: checkout
  namespace: payments
spec:
  parentRefs: [{name: demo-sn, namespace: default, sectionName: http}]
  rules:
    - backendRefs: [{name: checkout, kind: Service, port: 80}]
---
apiVersion: application-networking.k8s.aws/v1alpha1
kind: IAMAuthPolicy
metadata:
  name: checkout-auth
  namespace: payments
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: HTTPRoute, name: checkout}
  policy: |
    {"Version": "2012-10-17",
     "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                    "Action": "vpc-lattice-svcs:Invoke", "Resource": "*"}]}
)";

json route_to_missing_service() {
  return {
      {"apiVersion", "gateway.networking.k8s.io/v1"},
      {"kind", "HTTPRoute"},
      {"metadata", {{"name", "orphan"}, {"namespace", "default"}}},
      {"spec",
       {{"parentRefs", {{{"name", "demo-sn"}, {"sectionName", "http"}}}},
        {"rules", {{{"backendRefs", {{{"name", "ghost"}, {"kind", "Service"}, {"port", 80}}}}}}}}}};
}

class ServeBehaviour : public ::testing::Test {
 protected:
  void SetUp() override {
    certs_ = generate_certs(tmp_.path / "certs");
    ASSERT_FALSE(certs_.ca_pem.empty());
    state_ = tmp_.path / "state";
    fs::create_directories(state_);
    for (const auto& e :
         fs::directory_iterator(fs::path(LG_SOURCE_DIR) / "manifests/examples/tutorial")) {
      if (e.path().extension() == ".yaml") fs::copy_file(e.path(), state_ / e.path().filename());
    }
    write_file(state_ / "payments.yaml", kProduction);
    config_ = tmp_.path / "config.yaml";
    write_file(config_, "rules: {backendref-not-found: deny}\n");
  }

  void start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--tls-cert",       certs_.cert.string(),
                                  "--tls-key",        certs_.key.string(),
                                  "--cluster-state",  state_.string(),
                                  "--config",         config_.string(),
                                  "--config-poll-ms", "100"};
    args.insert(args.end(), extra.begin(), extra.end());
    serve_ = ServeProcess::start(args, tmp_.path / "serve.log");
    ASSERT_NE(serve_, nullptr);
    https_ = std::make_unique<HttpsClient>(serve_->port(), certs_.ca);
  }

  json object_from_state(const std::string& file, const std::string& kind,
                         const std::string& name) {
    for (json& d : yaml_documents(state_ / file)) {
      if (d["kind"] == kind && d["metadata"]["name"] == name) return d;
    }
    ADD_FAILURE() << kind << " " << name << " not in " << file;
    return json::object();
  }

  TempDir tmp_;
  Certs certs_;
  fs::path state_, config_;
  std::unique_ptr<ServeProcess> serve_;
  std::unique_ptr<HttpsClient> https_;
};

TEST_F(ServeBehaviour, DeletingAServiceARouteUsesIsDenied) {
  ASSERT_NO_FATAL_FAILURE(start());
  json svc = object_from_state("demo-app.yaml", "Service", "demo-app-a");
  svc["metadata"]["namespace"] = "default";
  json answer = https_->review("/validate", review_for(nullptr, "DELETE", svc));
  EXPECT_FALSE(response_of(answer).value("allowed", true)) << answer.dump();
  std::string msg = message_of(answer);
  EXPECT_NE(msg.find("HTTPRoute default/demo-http-route"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[backendref-not-found]"), std::string::npos) << msg;

  // A Service no route uses goes quietly.
  json lone = svc;
  lone["metadata"]["name"] = "unused";
  answer = https_->review("/validate", review_for(nullptr, "DELETE", lone));
  EXPECT_TRUE(response_of(answer).value("allowed", false)) << answer.dump();
}

TEST_F(ServeBehaviour, DeletingTheAuthPolicyOfAProductionRouteIsDenied) {
  ASSERT_NO_FATAL_FAILURE(start());
  json policy = object_from_state("payments.yaml", "IAMAuthPolicy", "checkout-auth");
  json answer = https_->review("/validate", review_for(nullptr, "DELETE", policy));
  EXPECT_FALSE(response_of(answer).value("allowed", true)) << answer.dump();
  std::string msg = message_of(answer);
  EXPECT_NE(msg.find("HTTPRoute payments/checkout"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[auth-none-in-production]"), std::string::npos) << msg;
}

TEST_F(ServeBehaviour, TargetGroupPolicyWithoutHealthCheckIsPatchedFromTheProbe) {
  ASSERT_NO_FATAL_FAILURE(start());
  json tgp = {{"apiVersion", "application-networking.k8s.aws/v1alpha1"},
              {"kind", "TargetGroupPolicy"},
              {"metadata", {{"name", "checkout-tgp"}, {"namespace", "payments"}}},
              {"spec",
               {{"targetRef", {{"kind", "Service"}, {"name", "checkout"}}},
                {"protocol", "HTTP"},
                {"protocolVersion", "HTTP1"}}}};
  json answer = https_->review("/mutate", review_for(tgp, "CREATE"));
  json r = response_of(answer);
  ASSERT_TRUE(r.value("allowed", false)) << answer.dump();
  ASSERT_EQ(r.value("patchType", ""), "JSONPatch") << answer.dump();
  std::vector<std::string> notes = r.value("warnings", std::vector<std::string>{});
  EXPECT_EQ(std::set<std::string>(notes.begin(), notes.end()).size(), notes.size())
      << "each fix is announced once: " << r["warnings"].dump();
  json patch = patch_of(answer);
  ASSERT_TRUE(patch.is_array()) << answer.dump();
  json fixed = tgp.patch(patch);
  const json& hc = fixed["spec"]["healthCheck"];
  ASSERT_TRUE(hc.is_object()) << fixed.dump();
  EXPECT_EQ(hc.value("path", ""), "/healthz") << hc.dump();
  EXPECT_EQ(fixed["spec"]["targetRef"].value("group", "missing"), "") << fixed.dump();

  // The mutated object passes validation.
  json checked = https_->review("/validate", review_for(fixed, "CREATE"));
  EXPECT_TRUE(response_of(checked).value("allowed", false)) << checked.dump();
}

TEST_F(ServeBehaviour, RouteToAMissingServiceIsDeniedWithFieldAndRule) {
  ASSERT_NO_FATAL_FAILURE(start());
  json answer = https_->review("/validate", review_for(route_to_missing_service(), "CREATE"));
  json r = response_of(answer);
  EXPECT_FALSE(r.value("allowed", true)) << answer.dump();
  EXPECT_EQ(r["status"]["code"], 403);
  std::string msg = message_of(answer);
  EXPECT_NE(msg.find("spec.rules[0].backendRefs[0]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ghost"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[backendref-not-found]"), std::string::npos) << msg;

  // The tutorial's own route is fine.
  json tutorial = object_from_state("httproute.yaml", "HTTPRoute", "demo-http-route");
  tutorial["metadata"]["namespace"] = "default";
  answer = https_->review("/validate", review_for(tutorial, "CREATE"));
  EXPECT_TRUE(response_of(answer).value("allowed", false)) << answer.dump();
}

TEST_F(ServeBehaviour, ConfigReloadKeepsTheOldConfigWhenTheNewOneIsInvalid) {
  ASSERT_NO_FATAL_FAILURE(start());
  json review = review_for(route_to_missing_service(), "CREATE");
  auto allowed = [&] {
    return response_of(https_->review("/validate", review)).value("allowed", false);
  };
  ASSERT_FALSE(allowed());

  write_file(config_, "rules: {backendref-not-found: sometimes}\n");
  ASSERT_TRUE(eventually([&] {
    return serve_->log().find("event=config_reload_failed") != std::string::npos;
  })) << serve_->log();
  EXPECT_FALSE(allowed()) << "an invalid file must not change the running config";

  write_file(config_, "rules: {backendref-not-found: warn}\n");
  ASSERT_TRUE(eventually(allowed)) << serve_->log();
  json r = response_of(https_->review("/validate", review));
  ASSERT_TRUE(r.contains("warnings")) << r.dump();
  std::string warnings = r["warnings"].dump();
  EXPECT_NE(warnings.find("backendref-not-found"), std::string::npos) << warnings;
}

TEST_F(ServeBehaviour, MetricsCountRequestsAndFindingsAndLogsAreJson) {
  ASSERT_NO_FATAL_FAILURE(start({"--log-format", "json"}));
  https_->review("/validate", review_for(route_to_missing_service(), "CREATE"));
  https_->review("/validate", review_for(route_to_missing_service(), "CREATE"));
  HttpResult m = https_->get("/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("latticeguard_admission_requests_total{"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("latticeguard_findings_total{"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("backendref-not-found"), std::string::npos) << m.body;
  // The second review read the cluster's Gateway and GatewayClass from the decoded-document
  // cache: counted as of the scrape.
  EXPECT_GT(metric_value(m.body, kDocCacheHits).value_or(0), 0) << m.body;
  EXPECT_GT(metric_value(m.body, "latticeguard_doc_cache_bytes").value_or(0), 0) << m.body;

  // Decision lines are buffered and flushed within a second.
  EXPECT_TRUE(
      eventually([&] { return serve_->log().find("event=admission") != std::string::npos; }, 5s))
      << serve_->log();
  // Log shippers parse every line.
  std::istringstream log(serve_->log());
  int lines = 0;
  for (std::string line; std::getline(log, line); ++lines) {
    json j = json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object() && j.contains("level") && j.contains("msg")) << line;
  }
  EXPECT_GE(lines, 3);
}

TEST_F(ServeBehaviour, DocCacheBytesZeroTurnsTheCacheOffAndDecidesTheSame) {
  ASSERT_NO_FATAL_FAILURE(start({"--doc-cache-bytes", "0"}));
  for (int i = 0; i < 2; ++i) {
    json answer = https_->review("/validate", review_for(route_to_missing_service(), "CREATE"));
    EXPECT_FALSE(response_of(answer).value("allowed", true)) << answer.dump();
    EXPECT_NE(message_of(answer).find("[backendref-not-found]"), std::string::npos);
  }
  HttpResult m = https_->get("/metrics");
  EXPECT_EQ(metric_value(m.body, kDocCacheHits), 0) << m.body;
  EXPECT_EQ(metric_value(m.body, "latticeguard_doc_cache_bytes"), 0) << m.body;
}

TEST_F(ServeBehaviour, SigtermTurnsReadinessOffAndExitsZero) {
  ASSERT_NO_FATAL_FAILURE(start({"--shutdown-delay-ms", "1500"}));
  ASSERT_EQ(https_->get("/readyz").status, 200);
  serve_->signal(SIGTERM);
  // While draining /readyz answers non-200; once the listener closes there is no answer at all.
  EXPECT_TRUE(eventually([&] { return https_->get("/readyz").status != 200; }, 5s))
      << serve_->log();
  std::optional<int> code = serve_->wait_exit(15s);
  ASSERT_TRUE(code.has_value()) << "serve did not exit after SIGTERM\n" << serve_->log();
  EXPECT_EQ(*code, 0) << serve_->log();
  EXPECT_NE(serve_->log().find("event=shutdown phase=done"), std::string::npos) << serve_->log();
}

}  // namespace
}  // namespace latticeguard::serve_test
