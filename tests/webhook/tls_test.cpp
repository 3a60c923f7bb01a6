#include "webhook/tls.h"

#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <string>

#include "tests/webhook/test_certs.h"
#include "webhook/metrics.h"

namespace latticeguard::webhook {
namespace {

namespace fs = std::filesystem;
using testing::TestCa;
using testing::write_file;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/lg-webhook-tls-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (fs::path(path_) / name).string(); }
  // Writes tls.crt and tls.key as a mounted Secret would hold them.
  TlsOptions write_pair(const testing::PemPair& pair) const {
    TlsOptions o;
    o.cert_file = file("tls.crt");
    o.key_file = file("tls.key");
    write_file(o.cert_file, pair.cert);
    write_file(o.key_file, pair.key);
    return o;
  }

 private:
  std::string path_;
};

TEST(CertPair, AcceptsAMatchingPairAndReportsExpiry) {
  TestCa ca;
  auto pem = ca.issue("webhook", 0x1234);
  auto pair = parse_cert_pair(pem.cert + ca.cert_pem(), pem.key);
  ASSERT_TRUE(pair) << pair.error().message;
  const CertInfo info = cert_info(**pair);
  EXPECT_EQ(info.serial_hex, "1234");
  EXPECT_NEAR(static_cast<double>(info.not_after_unix), std::time(nullptr) + 3600.0, 120);
  EXPECT_NE(info.subject.find("CN=webhook"), std::string::npos);
}

TEST(CertPair, RejectsBrokenPairs) {
  TestCa ca;
  auto a = ca.issue("a", 2);
  auto b = ca.issue("b", 3);
  auto mismatch = parse_cert_pair(a.cert, b.key);
  ASSERT_FALSE(mismatch);
  EXPECT_NE(mismatch.error().message.find("does not match"), std::string::npos);
  EXPECT_FALSE(parse_cert_pair("", a.key));
  EXPECT_FALSE(parse_cert_pair(a.cert, ""));
  EXPECT_FALSE(parse_cert_pair(a.cert.substr(0, a.cert.size() / 2), a.key));
  auto expired = ca.issue("old", 4, false, -10);
  auto r = parse_cert_pair(expired.cert, expired.key);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("expired"), std::string::npos);
}

TEST(CertReloader, SwapsOnChangeAndKeepsOldPairWhenNewIsBroken) {
  TempDir dir;
  TestCa ca;
  const TlsOptions options = dir.write_pair(ca.issue("webhook", 10));
  const std::string &cert = options.cert_file, &key = options.key_file;
  Metrics metrics;
  auto r = CertReloader::create(options, &metrics);
  ASSERT_TRUE(r) << r.error().message;
  CertReloader& reloader = **r;
  EXPECT_EQ(reloader.current_info().serial_hex, "0A");
  EXPECT_EQ(metrics.cert_expiry().value(), reloader.current_info().not_after_unix);
  EXPECT_FALSE(reloader.reload_now());  // unchanged

  // cert-manager writes the files one after the other: a half-rotated pair must not be used.
  auto second = ca.issue("webhook", 11, false, 7200);
  write_file(cert, second.cert);
  EXPECT_FALSE(reloader.reload_now());
  EXPECT_EQ(reloader.current_info().serial_hex, "0A");
  write_file(key, second.key);
  EXPECT_TRUE(reloader.reload_now());
  EXPECT_EQ(reloader.current_info().serial_hex, "0B");
  EXPECT_EQ(metrics.cert_expiry().value(), reloader.current_info().not_after_unix);

  write_file(cert, "garbage");
  EXPECT_FALSE(reloader.reload_now());
  EXPECT_EQ(reloader.current_info().serial_hex, "0B");
  fs::remove(cert);
  EXPECT_FALSE(reloader.reload_now());
  EXPECT_EQ(reloader.current_info().serial_hex, "0B");
  write_file(cert, second.cert);  // restored: same pair, accepted again
  EXPECT_TRUE(reloader.reload_now());
  EXPECT_EQ(reloader.current_info().serial_hex, "0B");
}

TEST(CertReloader, PollingPicksUpANewPair) {
  TempDir dir;
  TestCa ca;
  TlsOptions options = dir.write_pair(ca.issue("webhook", 20));
  options.poll_interval = std::chrono::milliseconds(20);
  const std::string &cert = options.cert_file, &key = options.key_file;
  auto r = CertReloader::create(options, nullptr);
  ASSERT_TRUE(r);
  (*r)->start_polling();
  auto second = ca.issue("webhook", 21);
  write_file(key, second.key);
  write_file(cert, second.cert);
  for (int i = 0; i < 200 && (*r)->current_info().serial_hex != "15"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ((*r)->current_info().serial_hex, "15");
  (*r)->stop_polling();
}

TEST(CertReloader, MissingFilesFailAtStartup) {
  auto r = CertReloader::create({.cert_file = "/nonexistent/tls.crt", .key_file = "/x"}, nullptr);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("/nonexistent/tls.crt"), std::string::npos);
}

}  // namespace
}  // namespace latticeguard::webhook
