#include "kube/client.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/kube/test_util.h"

namespace latticeguard::kube {
namespace {

namespace fs = std::filesystem;

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(api_.start());
    client_ = client_for(api_);
    ASSERT_NE(client_, nullptr);
  }
  testing::FakeApiServer api_;
  std::unique_ptr<Client> client_;
};

TEST_F(ClientTest, ListFollowsContinueTokensAndItemsLackKind) {
  for (int i = 0; i < 7; ++i) api_.add_object(service("store-prod", "svc-" + std::to_string(i)));
  std::vector<std::string> names;
  std::string cont;
  int pages = 0;
  do {
    auto page = client_->list("/api/v1/services", 2, cont);
    ASSERT_TRUE(page) << page.error().message;
    ++pages;
    EXPECT_EQ((*page)["kind"], "ServiceList");
    for (const auto& item : (*page)["items"]) {
      EXPECT_FALSE(item.contains("kind"));  // as the real server sends built-in list items
      names.push_back(item["metadata"]["name"]);
    }
    cont = (*page)["metadata"].value("continue", "");
    if (!cont.empty()) {
      EXPECT_TRUE((*page)["metadata"].contains("remainingItemCount"));
    }
  } while (!cont.empty());
  EXPECT_EQ(pages, 4);
  EXPECT_EQ(names.size(), 7u);
}

TEST_F(ClientTest, StatusErrorsCarryCodeReasonAndMessage) {
  auto missing = client_->get("/api/v1/namespaces/store-prod/services/does-not-exist");
  ASSERT_FALSE(missing);
  EXPECT_TRUE(is_not_found(missing.error()));
  EXPECT_EQ(api_error(missing.error()).message, "services \"does-not-exist\" not found");

  json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                {"kind", "Lease"},
                {"metadata", {{"name", "l"}}},
                {"spec", {{"holderIdentity", "a"}}}};
  const std::string leases = "/apis/coordination.k8s.io/v1/namespaces/latticeguard-system/leases";
  auto created = client_->create(leases, lease);
  ASSERT_TRUE(created) << created.error().message;
  auto again = client_->create(leases, lease);
  ASSERT_FALSE(again);
  EXPECT_EQ(api_error(again.error()).reason, "AlreadyExists");

  json stale = *created;
  stale["metadata"]["resourceVersion"] = "1";
  auto conflict = client_->update(leases + "/l", stale);
  ASSERT_FALSE(conflict);
  EXPECT_TRUE(is_conflict(conflict.error()));
  EXPECT_NE(conflict.error().message.find("the object has been modified"), std::string::npos);

  // Custom resources refuse an update without resourceVersion (capture 73).
  json report = {{"apiVersion", "wgpolicyk8s.io/v1alpha2"},
                 {"kind", "PolicyReport"},
                 {"metadata", {{"name", "latticeguard"}}},
                 {"results", json::array()}};
  const std::string reports = "/apis/wgpolicyk8s.io/v1alpha2/namespaces/store-prod/policyreports";
  ASSERT_TRUE(client_->create(reports, report));
  auto no_rv = client_->update(reports + "/latticeguard", report);
  ASSERT_FALSE(no_rv);
  EXPECT_EQ(api_error(no_rv.error()).code, 422);
  EXPECT_NE(no_rv.error().message.find("must be specified for an update"), std::string::npos);

  // DELETE of a custom resource answers a Status, of a Service the object (captures 79, 33).
  auto deleted = client_->del(reports + "/latticeguard");
  ASSERT_TRUE(deleted) << deleted.error().message;
  EXPECT_EQ((*deleted)["kind"], "Status");
  EXPECT_EQ((*deleted)["status"], "Success");
  api_.add_object(service("store-prod", "gone"));
  auto svc = client_->del("/api/v1/namespaces/store-prod/services/gone");
  ASSERT_TRUE(svc);
  EXPECT_EQ((*svc)["kind"], "Service");
}

TEST_F(ClientTest, ForbiddenNamesVerbAndResource) {
  api_.forbid("list", "gateway.networking.k8s.io", "httproutes");
  auto r = client_->list("/apis/gateway.networking.k8s.io/v1/httproutes", 500, "");
  ASSERT_FALSE(r);
  EXPECT_EQ(api_error(r.error()).code, 403);
  EXPECT_NE(r.error().message.find(
                "forbidden: cannot list httproutes.gateway.networking.k8s.io (verb list)"),
            std::string::npos)
      << r.error().message;
}

TEST_F(ClientTest, JsonPatchesCaBundleIntoWebhookConfiguration) {
  api_.add_object(json::parse(R"({"apiVersion":"admissionregistration.k8s.io/v1",
      "kind":"ValidatingWebhookConfiguration","metadata":{"name":"latticeguard-validating"},
      "webhooks":[{"name":"httproutes.latticeguard.io","clientConfig":{"caBundle":"b2xk"}}]})"));
  const std::string path =
      "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/"
      "latticeguard-validating";
  auto patched = client_->patch(
      path,
      json::parse(
          R"([{"op":"replace","path":"/webhooks/0/clientConfig/caBundle","value":"bmV3"}])"),
      PatchType::kJson);
  ASSERT_TRUE(patched) << patched.error().message;
  EXPECT_EQ((*patched)["webhooks"][0]["clientConfig"]["caBundle"], "bmV3");
  auto bad = client_->patch(
      path,
      json::parse(R"([{"op":"replace","path":"/webhooks/5/clientConfig/caBundle","value":"x"}])"),
      PatchType::kJson);
  ASSERT_FALSE(bad);
  EXPECT_EQ(api_error(bad.error()).code, 422);
  auto merged =
      client_->patch(path, json::parse(R"({"metadata":{"labels":{"a":"b"}}})"), PatchType::kMerge);
  ASSERT_TRUE(merged);
  EXPECT_EQ((*merged)["metadata"]["labels"]["a"], "b");
}

TEST_F(ClientTest, WatchDeliversEventsInOrderAndTheExpiredError) {
  auto list = client_->list("/api/v1/services", 0, "");
  ASSERT_TRUE(list);
  std::string rv = (*list)["metadata"]["resourceVersion"];
  api_.add_object(service("store-prod", "watch-demo"));
  auto modified = service("store-prod", "watch-demo");
  modified["metadata"]["labels"]["audited"] = "true";
  api_.add_object(modified);
  api_.delete_object("", "services", "store-prod", "watch-demo");
  std::vector<std::string> types;
  StopSignal stop;
  auto st = client_->watch(
      "/api/v1/services", rv,
      [&](WatchEvent&& ev) {
        types.push_back(ev.type);
        EXPECT_EQ(ev.object["kind"], "Service");
        return types.size() < 3;
      },
      stop, 5);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(types, (std::vector<std::string>{"ADDED", "MODIFIED", "DELETED"}));

  api_.compact();
  std::vector<WatchEvent> events;
  st = client_->watch(
      "/api/v1/services", rv,
      [&](WatchEvent&& ev) {
        events.push_back(std::move(ev));
        return true;
      },
      stop, 5);
  ASSERT_TRUE(st) << st.error().message;
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "ERROR");
  EXPECT_EQ(events[0].object["code"], 410);
  EXPECT_EQ(events[0].object["reason"], "Expired");
}

// A proxy's error page or a cut-off body in place of the API server's JSON: the error names the
// request, the byte and what was wrong there.
TEST_F(ClientTest, ABodyThatIsNotJsonIsReportedWithItsByte) {
  api_.garble_next("list", "", "services", "<html><body>502 Bad Gateway</body></html>");
  auto page = client_->list("/api/v1/services", 100, "");
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error().message,
            "HTTP 0 Transport: GET /api/v1/services?limit=100: response is not JSON at byte 0: "
            "invalid value");

  const std::string cut = R"({"kind":"ServiceList","items":[{"metadata":{"name":"a")";
  api_.garble_next("get", "", "services", cut);
  auto one = client_->get("/api/v1/namespaces/store-prod/services/a");
  ASSERT_FALSE(one);
  EXPECT_NE(one.error().message.find("response is not JSON at byte " + std::to_string(cut.size()) +
                                     ": expected ',' or '}' after a member"),
            std::string::npos)
      << one.error().message;

  // The next request is answered as usual.
  EXPECT_TRUE(client_->list("/api/v1/services", 100, ""));
}

TEST_F(ClientTest, AMalformedWatchEventEndsTheWatchSayingWhy) {
  StopSignal stop;
  auto no_events = [](WatchEvent&&) { return true; };
  const std::string cut = R"({"type":"ADDED","object":{"kind":"Serv)";
  api_.garble_next("watch", "", "services", cut);
  Status st = client_->watch("/api/v1/services", "", no_events, stop, 5);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("watch stream carried a malformed event: not JSON at byte " +
                                    std::to_string(cut.size()) + ": unterminated string"),
            std::string::npos)
      << st.error().message;

  api_.garble_next("watch", "", "services", R"({"object":{}})");
  st = client_->watch("/api/v1/services", "", no_events, stop, 5);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("malformed event: no \"type\" string"), std::string::npos)
      << st.error().message;
}

TEST_F(ClientTest, StopSignalEndsAQuietWatchPromptly) {
  StopSignal stop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(200ms);
    stop.request_stop();
  });
  auto t0 = std::chrono::steady_clock::now();
  auto st = client_->watch(
      "/api/v1/services", std::to_string(api_.resource_version()),
      [](WatchEvent&&) { return true; }, stop, 60);
  stopper.join();
  EXPECT_TRUE(st);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

TEST_F(ClientTest, DiscoveryReportsServedResourcesOnly) {
  api_.unregister_resource("gateway.networking.k8s.io", "tlsroutes");
  auto served = client_->discover();
  ASSERT_TRUE(served) << served.error().message;
  EXPECT_TRUE(served->count({"", "v1", "services"}));
  EXPECT_TRUE(served->count({"gateway.networking.k8s.io", "v1", "httproutes"}));
  EXPECT_TRUE(served->count({"application-networking.k8s.aws", "v1alpha1", "targetgrouppolicies"}));
  EXPECT_FALSE(served->count({"gateway.networking.k8s.io", "v1alpha2", "tlsroutes"}));
}

TEST_F(ClientTest, UntrustedServerCertificateIsRefused) {
  testing::FakeApiServer other;  // a different self-signed certificate
  ClientConfig cfg = config_for(api_);
  cfg.ca_pem = other.ca_pem();
  auto c = Client::create(cfg);
  ASSERT_TRUE(c);
  auto r = (*c)->get("/api/v1/namespaces/default/services/x");
  ASSERT_FALSE(r);
  EXPECT_EQ(api_error(r.error()).code, 0);
  EXPECT_NE(r.error().message.find("not signed by the configured CA"), std::string::npos)
      << r.error().message;
}

TEST_F(ClientTest, SlowServerHitsTheRequestTimeout) {
  api_.set_latency(4s);
  ClientConfig cfg = config_for(api_);
  cfg.request_timeout = 500ms;
  auto c = Client::create(cfg);
  ASSERT_TRUE(c);
  auto t0 = std::chrono::steady_clock::now();
  auto r = (*c)->get("/api/v1/namespaces/default/services/x");
  ASSERT_FALSE(r);
  EXPECT_EQ(api_error(r.error()).code, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/lg-kube-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name, const std::string& content) const {
    std::string p = path + "/" + name;
    std::ofstream(p) << content;
    return p;
  }
  std::string path;
};

TEST_F(ClientTest, InClusterTokenFileIsReReadAfterRotation) {
  TempDir dir;
  std::string token = dir.file("token", "first-token\n");
  std::string ca = dir.file("ca.crt", api_.ca_pem());
  setenv("LG_TEST_SERVICE_HOST", "127.0.0.1", 1);
  setenv("LG_TEST_SERVICE_PORT", std::to_string(api_.port()).c_str(), 1);
  auto cfg = load_in_cluster({token, ca, "LG_TEST_SERVICE_HOST", "LG_TEST_SERVICE_PORT"});
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->server, "https://127.0.0.1:" + std::to_string(api_.port()));
  auto c = Client::create(*cfg);
  ASSERT_TRUE(c) << c.error().message;
  api_.require_tokens({"first-token"});
  EXPECT_TRUE((*c)->list("/api/v1/services", 0, ""));
  // The kubelet rotates the projected token; the old one stops working.
  dir.file("token", "second-token\n");
  api_.require_tokens({"second-token"});
  auto r = (*c)->list("/api/v1/services", 0, "");
  EXPECT_TRUE(r) << r.error().message;

  auto missing = load_in_cluster({token, ca, "LG_TEST_NO_SUCH_HOST", "LG_TEST_SERVICE_PORT"});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("not running in a cluster"), std::string::npos);
}

TEST_F(ClientTest, ExecPluginIsCachedUntilExpiryAndReRunOn401) {
  TempDir dir;
  std::string counter = dir.path + "/runs";
  auto runs = [&] {
    std::ifstream in(counter);
    int n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
  };
  ClientConfig cfg = config_for(api_);
  cfg.exec = ExecConfig{std::string(LG_KUBE_TESTDATA) + "/exec-credential.sh",
                        {},
                        {{"LG_EXEC_COUNTER", counter}, {"LG_EXEC_TTL", "3"}},
                        "client.authentication.k8s.io/v1beta1"};
  auto c = Client::create(cfg);
  ASSERT_TRUE(c);
  api_.require_tokens({"token-1"});
  for (int i = 0; i < 20; ++i) {
    auto r = (*c)->get("/api/v1/namespaces");
    ASSERT_TRUE(r) << r.error().message;
  }
  EXPECT_EQ(runs(), 1);  // cached: one run for many requests

  api_.require_tokens({"token-2", "token-3"});  // the server stops accepting token-1
  auto r = (*c)->get("/api/v1/namespaces");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(runs(), 2);  // re-run after the 401, request retried

  std::this_thread::sleep_for(3200ms);  // past expirationTimestamp
  r = (*c)->get("/api/v1/namespaces");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(runs(), 3);
  EXPECT_EQ((*c)->exec_runs(), 3);
}

TEST_F(ClientTest, FailingExecPluginIsReported) {
  ClientConfig cfg = config_for(api_);
  cfg.exec = ExecConfig{"/bin/false", {}, {}, "client.authentication.k8s.io/v1"};
  auto c = Client::create(cfg);
  ASSERT_TRUE(c);
  auto r = (*c)->get("/api/v1/namespaces");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("exec plugin /bin/false failed"), std::string::npos)
      << r.error().message;
}

}  // namespace
}  // namespace latticeguard::kube
