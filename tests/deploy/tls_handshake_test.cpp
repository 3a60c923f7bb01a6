// Real TLS handshakes over a socketpair: the certificates the rotation produces work for a client
// that verifies the chain and the Service host name, the way the API server calls the webhook.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "cert_test_util.h"
#include "certs/issue.h"
#include "certs/openssl_ptr.h"
#include "certs/rotation.h"

namespace latticeguard::certs {
namespace {

using testing::days_after;
using testing::default_spec;
using testing::fake_epoch;

constexpr char kHost[] = "latticeguard.latticeguard-system.svc";

BioPtr bio_of(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

SslCtxPtr server_ctx(const KeyPair& leaf) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  X509Ptr cert(PEM_read_bio_X509(bio_of(leaf.cert_pem).get(), nullptr, nullptr, nullptr));
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio_of(leaf.key_pem).get(), nullptr, nullptr, nullptr));
  EXPECT_EQ(SSL_CTX_use_certificate(ctx.get(), cert.get()), 1);
  EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx.get(), key.get()), 1);
  return ctx;
}

// A client that trusts exactly `trust_pem` and believes it is `now`.
SslCtxPtr client_ctx(const std::string& trust_pem, TimePoint now) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  Result<std::vector<std::string>> cas = split_pem_bundle(trust_pem);
  EXPECT_TRUE(cas);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx.get());
  for (const std::string& pem : *cas) {
    X509Ptr ca(PEM_read_bio_X509(bio_of(pem).get(), nullptr, nullptr, nullptr));
    EXPECT_EQ(X509_STORE_add_cert(store, ca.get()), 1);
  }
  X509_VERIFY_PARAM_set_time(SSL_CTX_get0_param(ctx.get()), Clock::to_time_t(now));
  return ctx;
}

// Handshakes and exchanges one message; true only if the client verified the server and data
// flowed both ways.
bool handshake(const KeyPair& served_leaf, const std::string& client_trust, TimePoint now) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return false;
  SslCtxPtr sctx = server_ctx(served_leaf);
  SslCtxPtr cctx = client_ctx(client_trust, now);
  std::thread server([&] {
    SslPtr ssl(SSL_new(sctx.get()));
    SSL_set_fd(ssl.get(), fds[0]);
    if (SSL_accept(ssl.get()) == 1) {
      char buf[4];
      if (SSL_read(ssl.get(), buf, 4) == 4) SSL_write(ssl.get(), "pong", 4);
      SSL_shutdown(ssl.get());
    }
    ::shutdown(fds[0], SHUT_RDWR);
  });
  SslPtr ssl(SSL_new(cctx.get()));
  SSL_set_fd(ssl.get(), fds[1]);
  SSL_set_tlsext_host_name(ssl.get(), kHost);
  SSL_set1_host(ssl.get(), kHost);
  bool ok = SSL_connect(ssl.get()) == 1 && SSL_get_verify_result(ssl.get()) == X509_V_OK;
  char buf[4] = {};
  ok = ok && SSL_write(ssl.get(), "ping", 4) == 4 && SSL_read(ssl.get(), buf, 4) == 4 &&
       std::string(buf, 4) == "pong";
  ::shutdown(fds[1], SHUT_RDWR);
  server.join();
  ::close(fds[0]);
  ::close(fds[1]);
  ERR_clear_error();
  return ok;
}

class TlsRotationTest : public testing::BundleFixture {
 protected:
  void SetUp() override {
    // A peer that aborts the handshake closes its end; writing to it must fail, not kill us.
    ::signal(SIGPIPE, SIG_IGN);
    BundleFixture::SetUp();
  }
};

TEST_F(TlsRotationTest, ClientTrustingOnlyOldCaKeepsWorkingAcrossLeafRotation) {
  const std::string old_ca_only = bundle_.ca.cert_pem;
  const std::string first_leaf = bundle_.leaf.cert_pem;
  EXPECT_TRUE(handshake(bundle_.leaf, old_ca_only, at(1)));
  rotate_at(6.1);
  ASSERT_NE(bundle_.leaf.cert_pem, first_leaf);
  EXPECT_TRUE(handshake(bundle_.leaf, old_ca_only, at(6.2)));
  rotate_at(12.2);
  EXPECT_TRUE(handshake(bundle_.leaf, old_ca_only, at(12.3)));
}

TEST_F(TlsRotationTest, ClientTrustingNewBundleWorksThroughCaRotation) {
  const std::string old_ca_only = bundle_.ca.cert_pem;
  rotate_at(6.1);
  rotate_at(12.2);
  rotate_at(18.3);
  rotate_at(20.5);  // phase one: trust = new + old, the old-CA leaf keeps serving
  const std::string new_bundle = bundle_.trust_pem;
  ASSERT_NE(new_bundle, old_ca_only);
  EXPECT_TRUE(handshake(bundle_.leaf, new_bundle, at(20.55)));
  EXPECT_TRUE(handshake(bundle_.leaf, old_ca_only, at(20.55)));  // not yet updated clients too
  rotate_at(20.6);  // phase two: the leaf comes from the new CA
  EXPECT_TRUE(handshake(bundle_.leaf, new_bundle, at(20.7)));
  // A client left on the old CA alone is exactly what the overlap protects against.
  EXPECT_FALSE(handshake(bundle_.leaf, old_ca_only, at(20.7)));
  // After the old CA expires, the bundle the client holds still verifies the new leaf.
  rotate_at(26.7);
  EXPECT_TRUE(handshake(bundle_.leaf, new_bundle, at(31)));
}

TEST_F(TlsRotationTest, ClientRejectsExpiredLeafAndWrongHost) {
  EXPECT_FALSE(handshake(bundle_.leaf, bundle_.trust_pem, at(10)));
  Result<KeyPair> other =
      issue_serving(bundle_.ca, std::vector<std::string>{"other.example.test"}, {}, 9, t0_);
  ASSERT_TRUE(other);
  EXPECT_FALSE(handshake(*other, bundle_.trust_pem, at(1)));
}

}  // namespace
}  // namespace latticeguard::certs
