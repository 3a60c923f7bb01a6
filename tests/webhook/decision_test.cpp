#include "webhook/decision.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace latticeguard::webhook {
namespace {

using nlohmann::json;

// A cache that has not finished its first LIST yet.
class UnsyncedState final : public ClusterState {
 public:
  std::shared_ptr<const ObjectIndex> snapshot() const override { return index_; }
  bool synced() const override { return false; }

 private:
  std::shared_ptr<const ObjectIndex> index_ = std::make_shared<const ObjectIndex>();
};

ObjectPtr object(json doc) {
  Result<Object> o = Object::from_json(std::move(doc));
  EXPECT_TRUE(o) << (o ? "" : o.error().message);
  return std::make_shared<const Object>(std::move(*o));
}

json lattice_class() {
  return {{"apiVersion", "gateway.networking.k8s.io/v1"},
          {"kind", "GatewayClass"},
          {"metadata", {{"name", "amazon-vpc-lattice"}}},
          {"spec", {{"controllerName", "application-networking.k8s.aws/gateway-api-controller"}}}};
}

json gateway(const std::string& ns, const std::string& name) {
  return {{"apiVersion", "gateway.networking.k8s.io/v1"},
          {"kind", "Gateway"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec",
           {{"gatewayClassName", "amazon-vpc-lattice"},
            {"listeners", {{{"name", "http"}, {"protocol", "HTTP"}, {"port", 80}}}}}}};
}

AdmissionRequest create(const std::string& group, const std::string& kind, json obj) {
  AdmissionRequest r;
  r.uid = "705ab4f5-6393-11e8-b7cc-42010a800002";
  r.operation = Operation::kCreate;
  r.group = group;
  r.version = "v1";
  r.kind = kind;
  r.ns = obj["metadata"].value("namespace", "");
  r.name = obj["metadata"].value("name", "");
  r.object = std::move(obj);
  return r;
}

TEST(DeciderTest, LongWarningsAreShortenedTo120CharactersKeepingTheRuleId) {
  // 63 characters, the longest valid service network name: the collision warning names the other
  // Gateway and runs well past 120 characters.
  const std::string name = "checkout-" + std::string(46, 'a') + "-gateway";
  ASSERT_EQ(name.size(), 63u);
  ObjectIndex index;
  index.put(object(lattice_class()));
  index.put(object(gateway("team-a", name)));
  Decider decider(std::make_shared<StaticClusterState>(std::move(index)),
                  std::make_shared<const Config>(Config::defaults()));

  AdmissionResponse r =
      decider.validate(create("gateway.networking.k8s.io", "Gateway", gateway("team-b", name)));

  EXPECT_TRUE(r.allowed);
  ASSERT_EQ(r.warnings.size(), 1u);
  const std::string& w = r.warnings[0];
  EXPECT_EQ(w.size(), 120u) << w;
  EXPECT_EQ(w.rfind("metadata.name: Gateway team-a/checkout-aaaa", 0), 0u) << w;
  EXPECT_NE(w.find("... [gateway-service-network-name]"), std::string::npos) << w;
  EXPECT_TRUE(w.ends_with(" [gateway-service-network-name]")) << w;
}

TEST(DeciderTest, ShortWarningsAreKeptWhole) {
  ObjectIndex index;
  index.put(object(lattice_class()));
  index.put(object(gateway("team-a", "my-hotel")));
  Decider decider(std::make_shared<StaticClusterState>(std::move(index)),
                  std::make_shared<const Config>(Config::defaults()));

  AdmissionResponse r = decider.validate(
      create("gateway.networking.k8s.io", "Gateway", gateway("team-b", "my-hotel")));

  EXPECT_TRUE(r.allowed);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0],
            "metadata.name: Gateway team-a/my-hotel has the same name: both map to one service "
            "network [gateway-service-network-name]");
}

TEST(DeciderTest, UnrelatedKindsAreAllowedWithoutLookingAtTheCluster) {
  // Fail closed until synced: any kind the rules care about is refused while the cache syncs.
  Config config = Config::defaults();
  config.fail_open_until_synced = false;
  Decider decider(std::make_shared<UnsyncedState>(), std::make_shared<const Config>(config));
  const json config_map = {{"apiVersion", "v1"},
                           {"kind", "ConfigMap"},
                           {"metadata", {{"name", "settings"}, {"namespace", "store-prod"}}},
                           {"data", {{"mode", "on"}}}};

  for (AdmissionResponse r : {decider.validate(create("", "ConfigMap", config_map)),
                              decider.mutate(create("", "ConfigMap", config_map))}) {
    EXPECT_TRUE(r.allowed);
    EXPECT_EQ(r.code, 200);
    EXPECT_EQ(r.message, "");
    EXPECT_TRUE(r.warnings.empty());
    EXPECT_TRUE(r.patch.is_null());
    EXPECT_TRUE(r.rule_hits.empty());
  }

  AdmissionResponse gw = decider.validate(
      create("gateway.networking.k8s.io", "Gateway", gateway("team-a", "my-hotel")));
  EXPECT_FALSE(gw.allowed);
  EXPECT_NE(gw.message.find("not synced"), std::string::npos) << gw.message;
}

}  // namespace
}  // namespace latticeguard::webhook
