#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "kube/client.h"
#include "kube/encoding.h"
#include "rules/core/base64.h"
#include "tests/kube/test_util.h"

namespace latticeguard::kube {
namespace {

namespace fs = std::filesystem;

class KubeconfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lg-kubeconfig-XXXXXX";
    dir_ = mkdtemp(tmpl);
    if (const char* k = std::getenv("KUBECONFIG")) saved_ = k;
  }
  void TearDown() override {
    fs::remove_all(dir_);
    if (saved_) {
      setenv("KUBECONFIG", saved_->c_str(), 1);
    } else {
      unsetenv("KUBECONFIG");
    }
  }
  std::string write(const std::string& name, const std::string& text) {
    std::string p = dir_ + "/" + name;
    fs::create_directories(fs::path(p).parent_path());
    std::ofstream(p) << text;
    return p;
  }
  std::string dir_;
  std::optional<std::string> saved_;
};

// The first file sets current-context and owns cluster "prod"; the second redefines "prod" (it
// loses, as with kubectl) and brings the users and a second context.
TEST_F(KubeconfigTest, KubeconfigVariableMergesFilesFirstWins) {
  std::string a = write("a/config", R"(apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: prod
  cluster:
    server: https://prod.example:6443
    certificate-authority-data: )" + base64_encode("CA-PROD") +
                                        R"(
contexts:
- name: prod
  context: {cluster: prod, user: admin}
)");
  std::string b = write("b/config", R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: prod
  cluster: {server: "https://wrong.example"}
- name: dev
  cluster:
    server: https://dev.example
    certificate-authority: ca/dev.crt
    insecure-skip-tls-verify: true
users:
- name: admin
  user: {token: "admin-token"}
- name: eks
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [--region, eu-west-1, eks, get-token, --cluster-name, store]
      env:
      - {name: AWS_PROFILE, value: store}
contexts:
- name: dev
  context: {cluster: dev, user: eks}
)");
  write("b/ca/dev.crt", "CA-DEV-FROM-FILE");
  setenv("KUBECONFIG", (a + ":" + dir_ + "/missing:" + b).c_str(), 1);

  auto prod = load_kubeconfig({}, "");
  ASSERT_TRUE(prod) << prod.error().message;
  EXPECT_EQ(prod->server, "https://prod.example:6443");
  EXPECT_EQ(prod->ca_pem, "CA-PROD");
  EXPECT_EQ(prod->bearer_token, "admin-token");
  EXPECT_FALSE(prod->exec);

  auto dev = load_kubeconfig({}, "dev");  // --context
  ASSERT_TRUE(dev) << dev.error().message;
  EXPECT_EQ(dev->server, "https://dev.example");
  EXPECT_EQ(dev->ca_pem, "CA-DEV-FROM-FILE");  // relative to the file that named it
  EXPECT_TRUE(dev->insecure_skip_tls_verify);
  ASSERT_TRUE(dev->exec);
  EXPECT_EQ(dev->exec->command, "aws");
  EXPECT_EQ(dev->exec->args.size(), 6u);
  EXPECT_EQ(dev->exec->env.at(0), (std::pair<std::string, std::string>{"AWS_PROFILE", "store"}));

  auto none = load_kubeconfig({}, "staging");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("context \"staging\" not found"), std::string::npos);
}

TEST_F(KubeconfigTest, ExplicitPathWithFileFieldsAndRelativeExecCommand) {
  write("certs/client.crt", "CERT");
  write("certs/client.key", "KEY");
  std::string p = write("config", R"(apiVersion: v1
kind: Config
current-context: c
clusters:
- {name: k, cluster: {server: "https://127.0.0.1:6443"}}
users:
- name: u
  user:
    client-certificate: certs/client.crt
    client-key: certs/client.key
    tokenFile: token
    exec: {apiVersion: client.authentication.k8s.io/v1, command: ./bin/get-token}
contexts:
- {name: c, context: {cluster: k, user: u}}
)");
  auto cfg = load_kubeconfig({p}, "");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->client_cert_pem, "CERT");
  EXPECT_EQ(cfg->client_key_pem, "KEY");
  EXPECT_EQ(cfg->token_file, dir_ + "/token");
  ASSERT_TRUE(cfg->exec);
  EXPECT_EQ(cfg->exec->command, dir_ + "/./bin/get-token");
  EXPECT_EQ(cfg->exec->api_version, "client.authentication.k8s.io/v1");

  EXPECT_FALSE(load_kubeconfig({dir_ + "/nope"}, ""));  // an explicit path must exist
  std::string bad = write("bad", "clusters: [unclosed");
  auto r = load_kubeconfig({bad}, "");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not valid YAML"), std::string::npos);
}

TEST_F(KubeconfigTest, LoadedConfigTalksToTheServer) {
  testing::FakeApiServer api;
  ASSERT_TRUE(api.start());
  std::string p =
      write("config",
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\n"
            "clusters:\n- name: fake\n  cluster:\n    server: " +
                api.url() + "\n    certificate-authority-data: " + base64_encode(api.ca_pem()) +
                "\nusers:\n- name: u\n  user:\n    token: t0k\n"
                "contexts:\n- name: fake\n  context: {cluster: fake, user: u}\n");
  api.require_tokens({"t0k"});
  auto cfg = load_kubeconfig({p}, "");
  ASSERT_TRUE(cfg) << cfg.error().message;
  auto c = Client::create(*cfg);
  ASSERT_TRUE(c) << c.error().message;
  auto r = (*c)->list("/api/v1/namespaces", 0, "");
  EXPECT_TRUE(r) << r.error().message;
}

}  // namespace
}  // namespace latticeguard::kube
