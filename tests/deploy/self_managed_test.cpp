// Self-managed mode's pure parts: Secret round trip and the caBundle JSON patch.
#include "certs/self_managed.h"

#include <gtest/gtest.h>

#include <string>

#include "cert_test_util.h"
#include "rules/core/base64.h"

namespace latticeguard::certs {
namespace {

using nlohmann::json;
using testing::default_spec;
using testing::fake_epoch;

CertBundle bundle() {
  Result<CertBundle> b = make_bundle(default_spec(), fake_epoch());
  EXPECT_TRUE(b);
  return *b;
}

json webhook_config(const std::string& ca_bundle_b64) {
  json hook = {{"name", "validate.latticeguard.io"},
               {"clientConfig", {{"service", {{"name", "latticeguard"}}}}}};
  json second = hook;
  second["name"] = "validate-delete.latticeguard.io";
  if (!ca_bundle_b64.empty()) second["clientConfig"]["caBundle"] = ca_bundle_b64;
  return {{"apiVersion", "admissionregistration.k8s.io/v1"},
          {"kind", "ValidatingWebhookConfiguration"},
          {"metadata", {{"name", "latticeguard"}}},
          {"webhooks", {hook, second}}};
}

TEST(SelfManaged, SecretRoundTrips) {
  CertBundle b = bundle();
  json secret = secret_json("latticeguard-tls", "latticeguard-system", b, "42");
  EXPECT_EQ(secret["type"], "Opaque");
  EXPECT_EQ(secret["metadata"]["resourceVersion"], "42");
  EXPECT_EQ(secret["metadata"]["namespace"], "latticeguard-system");
  ASSERT_TRUE(secret_has_bundle(secret));
  // Through text, as it would come back from the API server.
  Result<CertBundle> back = bundle_from_secret(json::parse(secret.dump()));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->trust_pem, b.trust_pem);
  EXPECT_EQ(back->ca.cert_pem, b.ca.cert_pem);
  EXPECT_EQ(back->ca.key_pem, b.ca.key_pem);
  EXPECT_EQ(back->leaf.cert_pem, b.leaf.cert_pem);
  EXPECT_EQ(back->leaf.key_pem, b.leaf.key_pem);
  EXPECT_FALSE(secret_json("s", "ns", b).at("metadata").contains("resourceVersion"));
}

TEST(SelfManaged, PreCreatedEmptySecretHasNoBundle) {
  json empty = {{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", "x"}}}};
  EXPECT_FALSE(secret_has_bundle(empty));
  EXPECT_FALSE(bundle_from_secret(empty));
}

TEST(SelfManaged, BrokenSecretIsAnError) {
  CertBundle b = bundle();
  json secret = secret_json("s", "ns", b);
  secret["data"]["tls.key"] = secret["data"]["ca.key"];
  Result<CertBundle> r = bundle_from_secret(secret);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("TLS"), std::string::npos);
  secret["data"].erase("ca.key");
  EXPECT_FALSE(bundle_from_secret(secret));
  secret = secret_json("s", "ns", b);
  secret["data"]["ca.crt"] = "!!!!";
  EXPECT_FALSE(bundle_from_secret(secret));
}

TEST(SelfManaged, CaBundlePatchSetsEveryWebhookAndApplies) {
  CertBundle b = bundle();
  json config = webhook_config("c3RhbGU=");  // the second webhook has a stale bundle
  json ops = ca_bundle_patch(config, b.trust_pem);
  ASSERT_EQ(ops.size(), 4u);
  EXPECT_EQ(
      ops[0],
      (json{{"op", "test"}, {"path", "/webhooks/0/name"}, {"value", "validate.latticeguard.io"}}));
  EXPECT_EQ(ops[1]["path"], "/webhooks/0/clientConfig/caBundle");
  json patched = config.patch(ops);
  const std::string want = base64_encode(b.trust_pem);
  for (const json& hook : patched["webhooks"]) EXPECT_EQ(hook["clientConfig"]["caBundle"], want);
  EXPECT_TRUE(ca_bundle_published(patched, b.trust_pem));
  EXPECT_FALSE(ca_bundle_published(config, b.trust_pem));
  EXPECT_TRUE(ca_bundle_patch(patched, b.trust_pem).empty());  // nothing to send
}

TEST(SelfManaged, CaBundlePatchFailsIfWebhooksWereReordered) {
  CertBundle b = bundle();
  json config = webhook_config("");
  json ops = ca_bundle_patch(config, b.trust_pem);
  std::swap(config["webhooks"][0], config["webhooks"][1]);
  EXPECT_THROW(config.patch(ops), json::other_error);  // the `test` op guards the indices
}

TEST(SelfManaged, ConfigurationWithoutWebhooksNeedsNoPatch) {
  EXPECT_TRUE(ca_bundle_patch(json::object(), "pem").empty());
}

}  // namespace
}  // namespace latticeguard::certs
