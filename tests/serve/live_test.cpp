// The live cluster path against the fake API server: `serve` over the watch cache, `audit` with
// PolicyReports, leader-elected periodic audit with failover, self-managed certificates, and
// `lint --cluster`.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "kube/encoding.h"
#include "rules/core/base64.h"
#include "tests/kube/fake_apiserver.h"
#include "tests/serve/serve_util.h"

namespace latticeguard::serve_test {
namespace {

using kube::testing::FakeApiServer;

const fs::path kManifests = fs::path(LG_CORPUS_DIR) / "admission-captures" / "manifests";
constexpr const char* kToken = "e2e-token";
constexpr const char* kGw = "gateway.networking.k8s.io";
constexpr const char* kReports = "wgpolicyk8s.io";

json route(const std::string& ns, const std::string& name, const std::string& service) {
  json parent = {{"name", "my-hotel"}, {"sectionName", "http"}};
  if (ns != "webhook-test") parent["namespace"] = "webhook-test";
  return {
      {"apiVersion", "gateway.networking.k8s.io/v1"},
      {"kind", "HTTPRoute"},
      {"metadata", {{"name", name}, {"namespace", ns}}},
      {"spec",
       {{"parentRefs", json::array({parent})},
        {"rules", {{{"backendRefs", {{{"name", service}, {"kind", "Service"}, {"port", 80}}}}}}}}}};
}

class Live : public ::testing::Test {
 protected:
  void SetUp() override {
    api_.require_tokens({kToken});
    // The captured run's cluster: GatewayClass, Gateway my-hotel, Service and Deployment parking.
    api_.add_object(yaml_documents(kManifests / "namespace.yaml").at(0));
    for (const char* f : {"gatewayclass.yaml", "gateway.yaml", "service.yaml", "deployment.yaml"}) {
      for (json& d : yaml_documents(kManifests / "v1" / f)) api_.add_object(d);
    }
    ASSERT_TRUE(api_.start());
    certs_ = generate_certs(tmp_.path / "certs");
    ASSERT_FALSE(certs_.ca_pem.empty());
    kubeconfig_ = tmp_.path / "kubeconfig";
    write_file(kubeconfig_,
               "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n"
               "    server: " +
                   api_.url() +
                   "\n    certificate-authority-data: " + base64_encode(api_.ca_pem()) +
                   "\nusers:\n- name: e2e\n  user:\n    token: " + kToken +
                   "\ncontexts:\n- name: fake\n  context: {cluster: fake, user: e2e}\n"
                   "current-context: fake\n");
  }

  std::unique_ptr<ServeProcess> serve(std::vector<std::string> extra, const std::string& log) {
    std::vector<std::string> args{"--kubeconfig",       kubeconfig_.string(), "--tls-cert",
                                  certs_.cert.string(), "--tls-key",          certs_.key.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return ServeProcess::start(args, tmp_.path / log);
  }

  std::optional<json> report(const std::string& ns) const {
    return api_.get_object(kReports, "policyreports", ns, "latticeguard");
  }

  FakeApiServer api_;
  TempDir tmp_;
  Certs certs_;
  fs::path kubeconfig_;
};

TEST_F(Live, ServeFollowsTheClusterThroughTheWatchCache) {
  auto s = serve({"--audit-interval", "0"}, "serve.log");
  ASSERT_NE(s, nullptr);
  HttpsClient https(s->port(), certs_.ca);
  ASSERT_TRUE(eventually([&] { return https.get("/readyz").status == 200; })) << s->log();

  // /readyz is 200 before the cache syncs (failOpenUntilSynced); answers say so until it has.
  json review = review_for(route("webhook-test", "live", "parking"), "CREATE");
  json answer;
  EXPECT_TRUE(eventually([&] {
    answer = https.review("/validate", review);
    return response_of(answer).value("allowed", false) && !response_of(answer).contains("warnings");
  })) << answer.dump();

  ASSERT_TRUE(api_.delete_object("", "services", "webhook-test", "parking"));
  EXPECT_TRUE(eventually([&] {
    return !response_of(https.review("/validate", review)).value("allowed", true);
  })) << "the deletion did not reach the cache\n"
      << s->log();
  EXPECT_NE(message_of(https.review("/validate", review)).find("[backendref-not-found]"),
            std::string::npos);

  // The gauges are refreshed every few seconds: one Deployment (parking), Service gone. The
  // reviews above read the same cached Gateway, GatewayClass and Namespace again and again: from
  // the second on, out of the decoded-document cache.
  EXPECT_TRUE(eventually([&] {
    std::string m = https.get("/metrics").body;
    return m.find("latticeguard_cache_objects{kind=\"Deployment\"} 1\n") != std::string::npos &&
           m.find("latticeguard_cache_objects{kind=\"Service\"} 0\n") != std::string::npos &&
           m.find("latticeguard_cache_synced{kind=\"HTTPRoute\"} 1\n") != std::string::npos &&
           metric_value(m, "latticeguard_doc_cache_lookups_total{result=\"hit\"}").value_or(0) > 0;
  })) << https.get("/metrics").body;
}

// An object changed by a watch event is read in its new version, whatever the decoded-document
// cache held of the old one.
TEST_F(Live, AdmissionsSeeTheNewVersionOfACachedObject) {
  auto s = serve({"--audit-interval", "0"}, "serve.log");
  ASSERT_NE(s, nullptr);
  HttpsClient https(s->port(), certs_.ca);
  ASSERT_TRUE(eventually([&] { return https.get("/readyz").status == 200; })) << s->log();
  json review = review_for(route("webhook-test", "live", "parking"), "CREATE");
  ASSERT_TRUE(eventually([&] {
    json a = https.review("/validate", review);
    return response_of(a).value("allowed", false) && !response_of(a).contains("warnings");
  }));
  for (int i = 0; i < 5; ++i) https.review("/validate", review);  // the Gateway is cached now

  // The Gateway loses its only listener: the route's sectionName "http" no longer exists.
  json gw = *api_.get_object(kGw, "gateways", "webhook-test", "my-hotel");
  gw["spec"]["listeners"][0]["name"] = "renamed";
  api_.add_object(gw);
  json answer;
  EXPECT_TRUE(eventually([&] {
    answer = https.review("/validate", review);
    return !response_of(answer).value("allowed", true);
  })) << answer.dump()
      << "\n"
      << s->log();
  EXPECT_NE(message_of(answer).find("sectionName"), std::string::npos) << answer.dump();

  // And back.
  gw["spec"]["listeners"][0]["name"] = "http";
  api_.add_object(gw);
  EXPECT_TRUE(eventually([&] {
    answer = https.review("/validate", review);
    return response_of(answer).value("allowed", false);
  })) << answer.dump();
}

TEST_F(Live, AuditListsFindingsAndKeepsPolicyReportsCurrent) {
  api_.add_object(route("webhook-test", "orphan", "ghost"));
  api_.add_object(route("team-b", "lonely", "nowhere"));
  std::string k = kubeconfig_.string();

  CmdResult r = run_lg({"audit", "--kubeconfig", k, "-o", "json"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  json out = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(out.is_object()) << r.out << r.err;
  bool orphan = false;
  for (const json& f : out["findings"]) {
    if (f["rule"] == "backendref-not-found" && f["name"] == "orphan" &&
        f["namespace"] == "webhook-test") {
      orphan = true;
    }
  }
  EXPECT_TRUE(orphan) << r.out;

  r = run_lg({"audit", "--kubeconfig", k, "--write-reports"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  std::optional<json> mine = report("webhook-test");
  ASSERT_TRUE(mine) << r.err;
  ASSERT_TRUE(report("team-b")) << r.err;
  auto fails_for = [](const json& rep, const std::string& name) {
    int n = 0;
    for (const json& res : rep["results"]) {
      if (res["result"] == "fail" && res["resources"][0]["name"] == name) ++n;
    }
    return n;
  };
  EXPECT_GE(fails_for(*mine, "orphan"), 1) << mine->dump(1);
  std::string rv = (*mine)["metadata"]["resourceVersion"];

  // Fix the orphan, remove team-b's only object: the report is updated, team-b's deleted.
  json ghost = yaml_documents(kManifests / "v1" / "service.yaml").at(0);
  ghost["metadata"]["name"] = "ghost";
  api_.add_object(ghost);
  ASSERT_TRUE(api_.delete_object(kGw, "httproutes", "team-b", "lonely"));
  r = run_lg({"audit", "--kubeconfig", k, "--write-reports"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("1 deleted"), std::string::npos) << r.err;
  mine = report("webhook-test");
  ASSERT_TRUE(mine);
  EXPECT_NE((*mine)["metadata"]["resourceVersion"], rv);
  EXPECT_EQ(fails_for(*mine, "orphan"), 0) << mine->dump(1);
  EXPECT_FALSE(report("team-b")) << report("team-b")->dump(1);
}

TEST_F(Live, OneReplicaAuditsAndTheOtherTakesOverOnSigterm) {
  api_.add_object(route("webhook-test", "orphan", "ghost"));
  std::vector<std::string> args{"--audit-interval", "2s", "--leader-election-namespace",
                                "latticeguard-system"};
  auto a = serve(args, "a.log");
  auto b = serve(args, "b.log");
  ASSERT_TRUE(a && b);
  auto holder = [&]() -> std::string {
    auto lease = api_.get_object("coordination.k8s.io", "leases", "latticeguard-system",
                                 "latticeguard-audit");
    return lease ? (*lease)["spec"].value("holderIdentity", "") : "";
  };
  auto holds = [](const std::string& h, const ServeProcess& p) {
    return h.ends_with("-" + std::to_string(p.pid()));
  };
  ASSERT_TRUE(eventually([&] { return !holder().empty(); })) << a->log() << b->log();
  std::string first = holder();
  ASSERT_TRUE(holds(first, *a) || holds(first, *b)) << first;
  ServeProcess& leader = holds(first, *a) ? *a : *b;
  ServeProcess& follower = holds(first, *a) ? *b : *a;
  ASSERT_TRUE(eventually([&] { return report("webhook-test").has_value(); })) << leader.log();
  // Info lines are flushed every second: give a follower's audit line time to show.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(follower.log().find("event=audit objects="), std::string::npos)
      << "only the Lease holder audits\n"
      << follower.log();

  leader.signal(SIGTERM);
  std::optional<int> code = leader.wait_exit(15s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0) << leader.log();
  EXPECT_TRUE(eventually([&] { return holds(holder(), follower); })) << holder();
  // The new leader keeps the reports current.
  std::string rv = (*report("webhook-test"))["metadata"]["resourceVersion"];
  EXPECT_TRUE(eventually([&] {
    auto r = report("webhook-test");
    return r && (*r)["metadata"]["resourceVersion"] != rv;
  })) << follower.log();
  // The audit line is logged after the reports are written.
  EXPECT_TRUE(eventually([&] {
    return follower.log().find("event=audit objects=") != std::string::npos;
  })) << follower.log();
}

TEST_F(Live, SelfManagedCertificatesFillTheSecretAndTheWebhookConfigurations) {
  api_.add_object(
      {{"apiVersion", "v1"},
       {"kind", "Secret"},
       {"metadata", {{"name", "latticeguard-tls"}, {"namespace", "latticeguard-system"}}},
       {"type", "Opaque"}});
  for (const char* kind : {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}) {
    json hook = {{"name", std::string(kind).starts_with("V") ? "validate.latticeguard.io"
                                                             : "mutate.latticeguard.io"},
                 {"clientConfig",
                  {{"service",
                    {{"name", "latticeguard"},
                     {"namespace", "latticeguard-system"},
                     {"path", "/validate"}}}}},
                 {"sideEffects", "None"},
                 {"admissionReviewVersions", {"v1"}}};
    api_.add_object({{"apiVersion", "admissionregistration.k8s.io/v1"},
                     {"kind", kind},
                     {"metadata", {{"name", "latticeguard"}}},
                     {"webhooks", {hook}}});
  }
  fs::path cert_dir = tmp_.path / "self";
  auto s = ServeProcess::start(
      {"--kubeconfig", kubeconfig_.string(), "--self-signed-certs", "--namespace",
       "latticeguard-system", "--cert-dir", cert_dir.string(), "--audit-interval", "0"},
      tmp_.path / "self.log");
  ASSERT_NE(s, nullptr);

  auto secret = api_.get_object("", "secrets", "latticeguard-system", "latticeguard-tls");
  ASSERT_TRUE(secret);
  ASSERT_TRUE((*secret).contains("data")) << secret->dump();
  for (const char* key : {"tls.crt", "tls.key", "ca.crt"}) {
    EXPECT_TRUE((*secret)["data"].contains(key)) << key << " " << secret->dump();
  }
  std::string bundle;
  for (const char* res : {"validatingwebhookconfigurations", "mutatingwebhookconfigurations"}) {
    auto cfg = api_.get_object("admissionregistration.k8s.io", res, "", "latticeguard");
    ASSERT_TRUE(cfg);
    std::string b = (*cfg)["webhooks"][0]["clientConfig"].value("caBundle", "");
    EXPECT_FALSE(b.empty()) << res << " " << cfg->dump();
    if (bundle.empty()) bundle = b;
    EXPECT_EQ(b, bundle) << res;
  }
  Result<std::string> ca_pem = base64_decode(bundle);
  ASSERT_TRUE(ca_pem);
  EXPECT_EQ(verify_tls_for_name(s->port(), *ca_pem, "latticeguard.latticeguard-system.svc"), "");
  // And not for a name the certificate does not carry.
  EXPECT_NE(verify_tls_for_name(s->port(), *ca_pem, "evil.example.com"), "");
}

TEST_F(Live, LintClusterLaysTheFilesOverTheCluster) {
  fs::path file = tmp_.path / "route.yaml";
  write_file(file, route("webhook-test", "from-file", "parking").dump());
  CmdResult with = run_lg({"lint", "--cluster", "--kubeconfig", kubeconfig_.string(), "-o", "json",
                           "-f", file.string()});
  CmdResult without = run_lg({"lint", "-o", "json", "-f", file.string()});
  auto has_orphan = [](const CmdResult& r) {
    json j = json::parse(r.out, nullptr, false);
    if (!j.is_object()) return false;
    for (const json& f : j["findings"]) {
      if (f["rule"] == "backendref-not-found") return true;
    }
    return false;
  };
  EXPECT_EQ(with.code, 0) << with.out << with.err;
  EXPECT_FALSE(has_orphan(with)) << with.out << with.err;
  EXPECT_EQ(without.code, 1) << without.out << without.err;
  EXPECT_TRUE(has_orphan(without)) << without.out << without.err;
}

}  // namespace
}  // namespace latticeguard::serve_test
