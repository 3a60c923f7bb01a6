// Certificate issuance, verification and the rotation policy, all under a fake clock.
#include <gtest/gtest.h>
#include <openssl/pem.h>

#include <string>

#include "cert_test_util.h"
#include "certs/issue.h"
#include "certs/openssl_ptr.h"
#include "certs/rotation.h"

namespace latticeguard::certs {
namespace {

using testing::days_after;
using testing::default_spec;
using testing::fake_epoch;

X509Ptr parse(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

bool critical(X509* cert, int nid) {
  int at = X509_get_ext_by_NID(cert, nid, -1);
  return at >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, at)) == 1;
}

// A long-lived bundle: 10-year CA, 1-year leaf.
class CertsTest : public testing::BundleFixture {
 protected:
  CertsTest() { spec_ = default_spec(3650, 365); }
  TimePoint now_ = t0_;
};

TEST_F(CertsTest, ChainVerifiesForEveryServiceNameAndExtraName) {
  const std::string expected[] = {
      "latticeguard", "latticeguard.latticeguard-system", "latticeguard.latticeguard-system.svc",
      "latticeguard.latticeguard-system.svc.cluster.local", "webhook.example.test"};
  for (const std::string& name : expected) {
    Status s = verify_chain(bundle_.leaf.cert_pem, bundle_.trust_pem, name, now_);
    EXPECT_TRUE(s) << name << ": " << (s ? "" : s.error().message);
  }
}

TEST_F(CertsTest, ChainVerifiesForIpSan) {
  EXPECT_TRUE(verify_chain(bundle_.leaf.cert_pem, bundle_.trust_pem, "127.0.0.1", now_));
  EXPECT_FALSE(verify_chain(bundle_.leaf.cert_pem, bundle_.trust_pem, "127.0.0.2", now_));
}

TEST_F(CertsTest, WrongNameFails) {
  for (const char* name : {"latticeguard.other-ns.svc", "evil.example.test", "latticeguard.svc"}) {
    Status s = verify_chain(bundle_.leaf.cert_pem, bundle_.trust_pem, name, now_);
    ASSERT_FALSE(s) << name;
    EXPECT_NE(s.error().message.find("hostname mismatch"), std::string::npos) << s.error().message;
  }
}

TEST_F(CertsTest, UntrustedCaFails) {
  Result<KeyPair> other = make_ca("other-ca", 3650, now_);
  ASSERT_TRUE(other);
  Status s = verify_chain(bundle_.leaf.cert_pem, other->cert_pem, "latticeguard", now_);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("unable to get local issuer"), std::string::npos)
      << s.error().message;
}

TEST_F(CertsTest, ExpiryIsIssueTimePlusDays) {
  Result<TimePoint> leaf_end = expiry(bundle_.leaf.cert_pem);
  Result<TimePoint> ca_end = expiry(bundle_.ca.cert_pem);
  ASSERT_TRUE(leaf_end && ca_end);
  EXPECT_EQ(*leaf_end, days_after(now_, 365));
  EXPECT_EQ(*ca_end, days_after(now_, 3650));
  Result<Validity> v = validity(bundle_.leaf.cert_pem);
  ASSERT_TRUE(v);
  EXPECT_LT(v->not_before, now_);  // backdated for clock skew
  EXPECT_TRUE(verify_chain(bundle_.leaf.cert_pem, bundle_.trust_pem, "", days_after(now_, 364)));
  Status expired =
      verify_chain(bundle_.leaf.cert_pem, bundle_.trust_pem, "", days_after(now_, 366));
  ASSERT_FALSE(expired);
  EXPECT_NE(expired.error().message.find("expired"), std::string::npos);
  EXPECT_FALSE(verify_chain(bundle_.leaf.cert_pem, bundle_.trust_pem, "", days_after(now_, -1)));
}

TEST_F(CertsTest, LeafKeyUsageIsServerAuthOnly) {
  X509Ptr leaf = parse(bundle_.leaf.cert_pem);
  ASSERT_TRUE(leaf);
  EXPECT_TRUE(X509_get_key_usage(leaf.get()) & KU_DIGITAL_SIGNATURE);
  EXPECT_FALSE(X509_get_key_usage(leaf.get()) & KU_KEY_CERT_SIGN);
  EXPECT_EQ(X509_get_extended_key_usage(leaf.get()), static_cast<uint32_t>(XKU_SSL_SERVER));
  EXPECT_EQ(X509_check_ca(leaf.get()), 0);
  EXPECT_TRUE(critical(leaf.get(), NID_key_usage));
  EVP_PKEY* key = X509_get0_pubkey(leaf.get());
  char group[64] = {};
  ASSERT_EQ(EVP_PKEY_get_group_name(key, group, sizeof group, nullptr), 1);
  EXPECT_STREQ(group, "prime256v1");
}

TEST_F(CertsTest, CaHasCriticalCaConstraintAndCertSign) {
  X509Ptr ca = parse(bundle_.ca.cert_pem);
  ASSERT_TRUE(ca);
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_TRUE(critical(ca.get(), NID_basic_constraints));
  EXPECT_TRUE(X509_get_key_usage(ca.get()) & KU_KEY_CERT_SIGN);
}

TEST_F(CertsTest, LeafCannotActAsCa) {
  Result<KeyPair> grandchild = issue_serving(bundle_.leaf, spec_.dns_names, {}, 30, now_);
  ASSERT_TRUE(grandchild);  // OpenSSL signs anything; verification must refuse it
  std::string chain = bundle_.leaf.cert_pem + bundle_.ca.cert_pem;
  EXPECT_FALSE(verify_chain(grandchild->cert_pem, chain, "latticeguard", now_));
}

TEST_F(CertsTest, InvalidNamesAreRejected) {
  const std::string bad_dns[] = {"bad,DNS:evil.test", "-lead.example", "a..b", ""};
  for (const std::string& n : bad_dns) {
    std::vector<std::string> names{n};
    EXPECT_FALSE(issue_serving(bundle_.ca, names, {}, 30, now_)) << n;
  }
  std::vector<std::string> ips{"300.1.1.1"};
  EXPECT_FALSE(issue_serving(bundle_.ca, {}, ips, 30, now_));
  std::vector<std::string> v6{"::1"};
  Result<KeyPair> ok = issue_serving(bundle_.ca, {}, v6, 30, now_);
  ASSERT_TRUE(ok);
  EXPECT_TRUE(verify_chain(ok->cert_pem, bundle_.trust_pem, "::1", now_));
}

// --- rotation under a fake clock: CA 30 days, leaf 9 days -------------------------------------

using RotationTest = testing::BundleFixture;

TEST(RotationPolicy, RenewalPointsAreTwoThirdsOfLifetime) {
  Validity v{fake_epoch(), days_after(fake_epoch(), 90)};
  EXPECT_FALSE(needs_leaf_renewal(v, days_after(fake_epoch(), 59.9)));
  EXPECT_TRUE(needs_leaf_renewal(v, days_after(fake_epoch(), 60)));
  EXPECT_FALSE(needs_ca_rotation(v, days_after(fake_epoch(), 59.9)));
  EXPECT_TRUE(needs_ca_rotation(v, days_after(fake_epoch(), 61)));
}

TEST_F(RotationTest, NothingToDoEarly) { EXPECT_FALSE(plan_at(5).any()); }

TEST_F(RotationTest, LeafRenewedBySameCaAtTwoThirds) {
  const std::string old_leaf = bundle_.leaf.cert_pem;
  const std::string old_trust = bundle_.trust_pem;
  RotationPlan p = plan_at(6.1);
  EXPECT_TRUE(p.renew_leaf);
  EXPECT_FALSE(p.rotate_ca);
  rotate_at(6.1);
  EXPECT_NE(bundle_.leaf.cert_pem, old_leaf);
  EXPECT_EQ(bundle_.trust_pem, old_trust);  // caBundle unchanged: nothing to publish
  EXPECT_TRUE(verify_chain(bundle_.leaf.cert_pem, old_trust, "latticeguard.latticeguard-system.svc",
                           days_after(t0_, 14)));
}

TEST_F(RotationTest, CaRotationOverlapsOldAndNewCa) {
  const std::string old_ca = bundle_.ca.cert_pem;
  // Keep the leaf fresh until the CA's 2/3 point (day 20).
  rotate_at(6.1);
  rotate_at(12.2);
  rotate_at(18.3);
  ASSERT_EQ(bundle_.ca.cert_pem, old_ca);

  // Phase one: new CA, trust bundle = new + old, the serving leaf stays (still old-CA signed).
  RotationPlan p = plan_at(20.5, /*published=*/true);
  EXPECT_TRUE(p.rotate_ca);
  EXPECT_FALSE(p.renew_leaf);
  const std::string leaf_before = bundle_.leaf.cert_pem;
  rotate_at(20.5);
  EXPECT_NE(bundle_.ca.cert_pem, old_ca);
  EXPECT_EQ(bundle_.leaf.cert_pem, leaf_before);
  EXPECT_EQ(trusted_count(), 2u);
  EXPECT_EQ(bundle_.trust_pem, ca_bundle(old_ca, bundle_.ca.cert_pem));
  EXPECT_TRUE(verify_chain(bundle_.leaf.cert_pem, bundle_.trust_pem, "latticeguard",
                           days_after(t0_, 20.5)));

  // Until the new bundle is published, the leaf must stay with the old CA.
  EXPECT_FALSE(plan_at(20.6, /*published=*/false).renew_leaf);
  // Phase two: published, so the leaf moves to the new CA; both old and new trust work.
  RotationPlan p2 = plan_at(20.6, /*published=*/true);
  EXPECT_TRUE(p2.renew_leaf);
  rotate_at(20.6);
  const TimePoint t = days_after(t0_, 20.6);
  EXPECT_TRUE(verify_chain(bundle_.leaf.cert_pem, bundle_.trust_pem, "latticeguard", t));
  EXPECT_FALSE(verify_chain(bundle_.leaf.cert_pem, old_ca, "latticeguard", t));
  EXPECT_EQ(trusted_count(), 2u);

  // The old CA leaves the bundle once it has expired (day 30).
  EXPECT_FALSE(plan_at(29).prune_trust);
  RotationPlan p3 = plan_at(30.1);
  EXPECT_TRUE(p3.prune_trust);
  rotate_at(30.1);
  EXPECT_EQ(trusted_count(), 1u);
  EXPECT_EQ(bundle_.trust_pem, bundle_.ca.cert_pem);
}

TEST_F(RotationTest, NewNameRenewsLeaf) {
  spec_.dns_names.push_back("extra.example.test");
  RotationPlan p = plan_at(1);
  EXPECT_TRUE(p.renew_leaf);
  rotate_at(1);
  EXPECT_TRUE(verify_chain(bundle_.leaf.cert_pem, bundle_.trust_pem, "extra.example.test",
                           days_after(t0_, 1)));
}

TEST_F(RotationTest, ExpiredLeafRenewedEvenUnpublished) {
  spec_.ca_days = 3650;
  Result<CertBundle> b = make_bundle(spec_, t0_);
  ASSERT_TRUE(b);
  bundle_ = *b;
  EXPECT_TRUE(plan_at(10, /*published=*/false).renew_leaf);
}

TEST_F(RotationTest, MismatchedKeyIsAnError) {
  bundle_.leaf.key_pem = bundle_.ca.key_pem;
  EXPECT_FALSE(plan_rotation(bundle_, spec_, t0_, true));
}

}  // namespace
}  // namespace latticeguard::certs
