#include "kube/cache.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "tests/kube/test_util.h"

namespace latticeguard::kube {
namespace {

// A few kinds of each shape (core, apps, Gateway API, Lattice) keep the tests light; the full table
// is exercised by SyncsFromAnEmptyCluster.
CacheOptions fast_options() {
  CacheOptions o;
  std::erase_if(o.resources, [](const ResourceType& r) {
    static const std::set<std::string> kKeep = {"Namespace", "Service",  "Deployment",
                                                "HTTPRoute", "TLSRoute", "TargetGroupPolicy"};
    return !kKeep.count(r.kind);
  });
  o.backoff_initial = 50ms;
  o.backoff_max = 400ms;
  o.watch_timeout_seconds = 30;
  return o;
}

const KindStats& stats_of(const std::vector<KindStats>& all, const std::string& kind) {
  for (const auto& s : all) {
    if (s.kind == kind) return s;
  }
  static KindStats none;
  return none;
}

class CacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(api_.start());
    client_ = client_for(api_);
    ASSERT_NE(client_, nullptr);
  }
  void start(CacheOptions o = fast_options()) {
    cache_ = std::make_unique<Cache>(*client_, sink_, std::move(o));
    ASSERT_TRUE(cache_->start());
  }
  void TearDown() override {
    if (cache_) cache_->stop();
  }
  KindStats stats(const std::string& kind) { return stats_of(cache_->stats(), kind); }
  // Synced and every kind's watch open on the server, so that faults hit live watches.
  void wait_watching() {
    ASSERT_TRUE(cache_->wait_synced(kWait));
    size_t kinds = 0;
    for (const auto& s : cache_->stats()) kinds += s.available;
    ASSERT_TRUE(eventually([&] { return api_.open_watches() == static_cast<int>(kinds); }));
  }

  testing::FakeApiServer api_;
  std::unique_ptr<Client> client_;
  MapSink sink_;
  std::unique_ptr<Cache> cache_;
};

TEST_F(CacheTest, SyncsFromAnEmptyCluster) {
  CacheOptions o = fast_options();
  o.resources = default_resources();
  start(o);
  ASSERT_TRUE(cache_->wait_synced(kWait));
  EXPECT_EQ(sink_.size(), 0u);
  for (const auto& r : default_resources()) {
    EXPECT_EQ(sink_.synced(r.group, r.kind), true) << r.kind;
    EXPECT_EQ(sink_.available(r.group, r.kind), true) << r.kind;
  }
  EXPECT_EQ(cache_->stats().size(), default_resources().size());
  EXPECT_EQ(api_.count_requests("GET /apis/application-networking.k8s.aws/v1alpha1/"
                                "serviceimports?limit=100"),
            1);
}

TEST_F(CacheTest, ListsInPagesAndStripsObjects) {
  for (int i = 0; i < 5; ++i) api_.add_object(service("store-prod", "svc-" + std::to_string(i)));
  CacheOptions o = fast_options();
  o.page_size = 2;
  start(o);
  ASSERT_TRUE(cache_->wait_synced(kWait));
  EXPECT_EQ(sink_.count("", "Service"), 5u);
  EXPECT_EQ(api_.count_requests("GET /api/v1/services?limit=2&continue="), 2);
  auto svc = sink_.get("", "Service", "store-prod", "svc-3");
  ASSERT_TRUE(svc);
  // List items came without kind/apiVersion; the cache puts them back.
  EXPECT_EQ((*svc)["apiVersion"], "v1");
  EXPECT_EQ((*svc)["kind"], "Service");
  EXPECT_FALSE((*svc)["metadata"].contains("managedFields"));
  EXPECT_FALSE((*svc)["metadata"].contains("annotations"));  // only last-applied was there
  EXPECT_FALSE(svc->contains("status"));
  EXPECT_EQ((*svc)["spec"]["selector"]["app"], "svc-3");
}

TEST_F(CacheTest, AppliesAddModifyDeleteEvents) {
  start();
  ASSERT_TRUE(cache_->wait_synced(kWait));
  api_.add_object(httproute("store-prod", "inventory"));
  ASSERT_TRUE(eventually([&] {
    return sink_.get("gateway.networking.k8s.io", "HTTPRoute", "store-prod", "inventory");
  }));
  auto route = httproute("store-prod", "inventory");
  route["metadata"]["labels"] = {{"audited", "true"}};
  api_.add_object(route);
  ASSERT_TRUE(eventually([&] {
    auto r = sink_.get("gateway.networking.k8s.io", "HTTPRoute", "store-prod", "inventory");
    return r && (*r)["metadata"].contains("labels");
  }));
  api_.delete_object("gateway.networking.k8s.io", "httproutes", "store-prod", "inventory");
  ASSERT_TRUE(eventually([&] {
    return !sink_.get("gateway.networking.k8s.io", "HTTPRoute", "store-prod", "inventory");
  }));
  EXPECT_EQ(stats("HTTPRoute").events, 3u);
  EXPECT_EQ(stats("HTTPRoute").relists, 0u);
}

TEST_F(CacheTest, DroppedWatchResumesWithoutRelisting) {
  start();
  wait_watching();
  int lists_before = api_.count_requests("GET /api/v1/services?limit");
  api_.drop_watches();
  api_.add_object(service("store-dev", "after-drop"));
  ASSERT_TRUE(eventually([&] { return sink_.get("", "Service", "store-dev", "after-drop"); }));
  EXPECT_GE(stats("Service").watch_restarts, 1u);
  EXPECT_EQ(stats("Service").relists, 0u);
  EXPECT_EQ(api_.count_requests("GET /api/v1/services?limit"), lists_before);
}

TEST_F(CacheTest, ExpiredResourceVersionRelists) {
  api_.add_object(service("store-prod", "stays"));
  api_.add_object(service("store-prod", "goes"));
  start();
  wait_watching();
  // Changes made while the cache is disconnected, then compacted away: resuming the watch from
  // its resourceVersion gets 410, and only a relist can catch up (and notice the deletion).
  api_.stop();
  api_.delete_object("", "services", "store-prod", "goes");
  api_.add_object(service("store-prod", "new"));
  api_.compact();
  ASSERT_TRUE(api_.restart());
  ASSERT_TRUE(eventually([&] {
    return sink_.get("", "Service", "store-prod", "new") &&
           !sink_.get("", "Service", "store-prod", "goes");
  }));
  EXPECT_GE(stats("Service").relists, 1u);
  EXPECT_GE(sink_.replace_calls("", "Service"), 2);

  // The ERROR event alone (HTTP 200 + 410 event) triggers a relist too.
  uint64_t relists = stats("HTTPRoute").relists;
  api_.expire_next_watch("gateway.networking.k8s.io", "httproutes");
  api_.drop_watches();
  ASSERT_TRUE(eventually([&] { return stats("HTTPRoute").relists > relists; }));
  EXPECT_TRUE(cache_->synced_all());
}

TEST_F(CacheTest, SurvivesAnApiServerRestart) {
  start();
  wait_watching();
  api_.stop();
  api_.add_object(service("store-prod", "while-down"));  // etcd keeps working
  std::this_thread::sleep_for(300ms);                    // reconnects fail meanwhile
  ASSERT_TRUE(api_.restart());
  ASSERT_TRUE(eventually([&] { return sink_.get("", "Service", "store-prod", "while-down"); }));
  api_.add_object(service("store-prod", "after-restart"));
  ASSERT_TRUE(eventually([&] { return sink_.get("", "Service", "store-prod", "after-restart"); }));
  EXPECT_TRUE(cache_->synced_all());
}

TEST_F(CacheTest, SyncsAgainstASlowApiServer) {
  api_.add_object(service("store-prod", "slow"));
  api_.set_latency(150ms);
  start();
  ASSERT_TRUE(cache_->wait_synced(kWait * 2));
  EXPECT_TRUE(sink_.get("", "Service", "store-prod", "slow"));
  api_.add_object(service("store-prod", "slow-2"));
  ASSERT_TRUE(eventually([&] { return sink_.get("", "Service", "store-prod", "slow-2"); }));
}

TEST_F(CacheTest, ForbiddenKindIsNotSyncedWhileOthersAre) {
  api_.forbid("list", "gateway.networking.k8s.io", "httproutes");
  api_.add_object(httproute("store-prod", "inventory"));
  start();
  ASSERT_TRUE(eventually([&] { return sink_.synced("", "Service") == true; }));
  ASSERT_TRUE(eventually([&] { return !stats("HTTPRoute").last_error.empty(); }));
  EXPECT_FALSE(cache_->synced_all());
  EXPECT_EQ(sink_.synced("gateway.networking.k8s.io", "HTTPRoute"), false);
  EXPECT_NE(stats("HTTPRoute")
                .last_error.find(
                    "forbidden: cannot list httproutes.gateway.networking.k8s.io (verb list)"),
            std::string::npos)
      << stats("HTTPRoute").last_error;
  // Others keep syncing.
  api_.add_object(service("store-prod", "still-watched"));
  ASSERT_TRUE(eventually([&] { return sink_.get("", "Service", "store-prod", "still-watched"); }));
  // RBAC fixed: the kind catches up after its backoff.
  api_.allow_all();
  ASSERT_TRUE(cache_->wait_synced(kWait));
  EXPECT_TRUE(sink_.get("gateway.networking.k8s.io", "HTTPRoute", "store-prod", "inventory"));
}

TEST_F(CacheTest, KindWithoutCrdIsUnavailableAndDoesNotBlockSync) {
  api_.unregister_resource("gateway.networking.k8s.io", "tlsroutes");
  start();
  ASSERT_TRUE(cache_->wait_synced(kWait));
  EXPECT_EQ(sink_.available("gateway.networking.k8s.io", "TLSRoute"), false);
  EXPECT_FALSE(stats("TLSRoute").available);
  EXPECT_EQ(api_.count_requests("GET /apis/gateway.networking.k8s.io/v1alpha2/tlsroutes"), 0);
}

// Real Deployments from the captured API server keep selector, template labels, ports and probes.
TEST(StripTest, DeploymentsFromTheCaptureKeepWhatRulesRead) {
  std::ifstream in(std::string(LG_CORPUS_DIR) +
                   "/apiserver-captures/18-list-deployments-limit500.http");
  ASSERT_TRUE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string raw = ss.str();
  auto body = raw.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos);
  json list = json::parse(raw.substr(body + 4));
  ASSERT_FALSE(list["items"].empty());
  const ResourceType* deploy = nullptr;
  for (const auto& r : default_resources()) {
    if (r.kind == "Deployment") deploy = &r;
  }
  ASSERT_NE(deploy, nullptr);
  for (json item : list["items"]) {
    json before = item;
    strip_object(item, *deploy);
    EXPECT_EQ(item["apiVersion"], "apps/v1");
    EXPECT_EQ(item["kind"], "Deployment");
    EXPECT_FALSE(item["metadata"].contains("managedFields"));
    // Rules order competing policies by age, as the controller does.
    EXPECT_EQ(item["metadata"]["creationTimestamp"], before["metadata"]["creationTimestamp"]);
    EXPECT_EQ(item["spec"]["selector"], before["spec"]["selector"]);
    EXPECT_EQ(item["spec"]["template"]["metadata"]["labels"],
              before["spec"]["template"]["metadata"]["labels"]);
    const auto& c0 = before["spec"]["template"]["spec"]["containers"][0];
    const auto& s0 = item["spec"]["template"]["spec"]["containers"][0];
    EXPECT_EQ(s0["name"], c0["name"]);
    EXPECT_EQ(s0.value("ports", json()), c0.value("ports", json()));
    EXPECT_EQ(s0.value("readinessProbe", json()), c0.value("readinessProbe", json()));
    EXPECT_FALSE(s0.contains("image"));
    EXPECT_LT(item.dump().size(), before.dump().size() / 2);
  }
}

}  // namespace
}  // namespace latticeguard::kube

namespace latticeguard::kube {
namespace {

long rss_kib() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

json capture_items(const std::string& file) {
  std::ifstream in(std::string(LG_CORPUS_DIR) + "/apiserver-captures/" + file);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string raw = ss.str();
  return json::parse(raw.substr(raw.find("\r\n\r\n") + 4))["items"];
}

// 50,000 stripped objects copied from real captured Services, Deployments, HTTPRoutes and
// TargetGroupPolicies. Held as nlohmann::json (std::map nodes) they take about 3.5 KiB each,
// above the 100 MB process budget: the bound below guards against regressions until the index
// holds a compact representation.
TEST(CacheMemoryTest, FiftyThousandStrippedObjectsFitTheBudget) {
  if (kSlowdown > 1 || kAddressSanitizer) {
    GTEST_SKIP() << "RSS is not meaningful under ThreadSanitizer or AddressSanitizer (shadow "
                    "memory, redzones and the freed-memory quarantine)";
  }
  struct Source {
    const char* file;
    const char* kind;
    int copies;
  };
  const Source sources[] = {{"12-list-services-limit2-page1.http", "Service", 20000},
                            {"18-list-deployments-limit500.http", "Deployment", 10000},
                            {"19-list-httproutes.http", "HTTPRoute", 10000},
                            {"21-list-targetgrouppolicies.http", "TargetGroupPolicy", 10000}};
  MapSink sink;
  long before = rss_kib();
  for (const auto& src : sources) {
    const ResourceType* type = nullptr;
    for (const auto& r : default_resources()) {
      if (r.kind == src.kind) type = &r;
    }
    ASSERT_NE(type, nullptr);
    json items = capture_items(src.file);
    ASSERT_FALSE(items.empty()) << src.file;
    std::vector<json> objects;
    for (int i = 0; i < src.copies; ++i) {
      json o = items[i % items.size()];
      strip_object(o, *type);
      o["metadata"]["name"] = o["metadata"].value("name", "") + "-" + std::to_string(i);
      objects.push_back(std::move(o));
    }
    sink.replace_kind(type->group, type->kind, std::move(objects));
  }
  EXPECT_EQ(sink.size(), 50000u);
  malloc_trim(0);  // count what the cache holds, not what the copies above left free
  long used_mib = (rss_kib() - before) / 1024;
  std::cout << "stripped objects: 50000, RSS growth " << used_mib << " MiB\n";
  EXPECT_LT(used_mib, 190);
}

}  // namespace
}  // namespace latticeguard::kube
