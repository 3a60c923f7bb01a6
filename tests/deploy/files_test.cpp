// `latticeguard certs generate`: the files it writes, their modes, and overwrite protection.
#include "certs/files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cert_test_util.h"
#include "rules/core/base64.h"

namespace latticeguard::certs {
namespace {

namespace fs = std::filesystem;

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lg-certs-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    opts_.out_dir = root_ + "/out";
    opts_.ips = {"127.0.0.1"};
    opts_.dns_names = {"webhook.example.test"};
  }
  void TearDown() override { fs::remove_all(root_); }
  mode_t mode_of(const std::string& name) {
    struct stat st {};
    EXPECT_EQ(::stat((opts_.out_dir + "/" + name).c_str(), &st), 0) << name;
    return st.st_mode & 07777;
  }
  std::string root_;
  CertsGenerateOptions opts_;
};

TEST_F(FilesTest, GenerateWritesFourFilesWithKeyModes0600) {
  mode_t old = ::umask(0);  // even with a permissive umask, keys must be 0600
  Result<std::string> ca_bundle = run_certs_generate(opts_);
  ::umask(old);
  ASSERT_TRUE(ca_bundle) << ca_bundle.error().message;
  EXPECT_EQ(mode_of("ca.key"), 0600u);
  EXPECT_EQ(mode_of("tls.key"), 0600u);
  EXPECT_EQ(mode_of("ca.crt"), 0644u);
  EXPECT_EQ(mode_of("tls.crt"), 0644u);
  EXPECT_EQ(mode_of(""), 0700u);  // the directory it created
  EXPECT_FALSE(fs::exists(opts_.out_dir + "/tls.key.tmp"));

  Result<CertBundle> back = read_cert_files(opts_.out_dir);
  ASSERT_TRUE(back) << back.error().message;
  Result<std::string> pem = base64_decode(*ca_bundle);
  ASSERT_TRUE(pem);
  EXPECT_EQ(*pem, back->trust_pem);  // the printed caBundle is what ca.crt holds
  for (const char* host :
       {"latticeguard.latticeguard-system.svc", "webhook.example.test", "127.0.0.1"}) {
    EXPECT_TRUE(verify_chain(back->leaf.cert_pem, *pem, host)) << host;
  }
}

TEST_F(FilesTest, RefusesToOverwriteWithoutForce) {
  ASSERT_TRUE(run_certs_generate(opts_));
  Result<CertBundle> first = read_cert_files(opts_.out_dir);
  ASSERT_TRUE(first);
  Result<std::string> again = run_certs_generate(opts_);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("--force"), std::string::npos) << again.error().message;
  Result<CertBundle> unchanged = read_cert_files(opts_.out_dir);
  ASSERT_TRUE(unchanged);
  EXPECT_EQ(unchanged->leaf.key_pem, first->leaf.key_pem);

  opts_.force = true;
  ASSERT_TRUE(run_certs_generate(opts_));
  Result<CertBundle> replaced = read_cert_files(opts_.out_dir);
  ASSERT_TRUE(replaced);
  EXPECT_NE(replaced->leaf.key_pem, first->leaf.key_pem);
  EXPECT_EQ(mode_of("tls.key"), 0600u);
}

TEST_F(FilesTest, OneExistingFileIsEnoughToRefuse) {
  fs::create_directories(opts_.out_dir);
  std::ofstream(opts_.out_dir + "/tls.key") << "keep me";
  EXPECT_FALSE(run_certs_generate(opts_));
  std::ifstream in(opts_.out_dir + "/tls.key");
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "keep me");
  EXPECT_FALSE(fs::exists(opts_.out_dir + "/ca.crt"));
}

TEST_F(FilesTest, BadOptionsAreErrors) {
  opts_.days = 400;
  opts_.ca_days = 365;
  EXPECT_FALSE(run_certs_generate(opts_));
  opts_.days = 30;
  opts_.ips = {"not-an-ip"};
  EXPECT_FALSE(run_certs_generate(opts_));
  EXPECT_FALSE(fs::exists(opts_.out_dir + "/tls.key"));
}

TEST_F(FilesTest, ReadRejectsMismatchedKey) {
  ASSERT_TRUE(run_certs_generate(opts_));
  fs::copy_file(opts_.out_dir + "/ca.key", opts_.out_dir + "/tls.key",
                fs::copy_options::overwrite_existing);
  Result<CertBundle> r = read_cert_files(opts_.out_dir);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("tls.key"), std::string::npos);
}

}  // namespace
}  // namespace latticeguard::certs
