// Real data: every upstream example decodes and lints without crashing, and the findings the
// catalogue (lattice-rules.md §9) predicts are reported.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/rules/test_util.h"

namespace latticeguard::testing {
namespace {

namespace fs = std::filesystem;

TEST(Corpus, EveryExampleFileLintsWithoutCrashing) {
  std::vector<std::string> dirs = {
      std::string(LG_CORPUS_DIR) + "/aws__aws-application-networking-k8s/files/examples",
      std::string(LG_CORPUS_DIR) + "/kubernetes-sigs__gateway-api/examples/standard",
  };
  size_t files = 0;
  for (const std::string& d : dirs) {
    ASSERT_TRUE(fs::exists(d)) << d;
    for (const std::string& f : yaml_files(d)) {
      World w;
      w.add_file(f);
      EXPECT_TRUE(w.error.empty()) << w.error;
      EXPECT_FALSE(w.objects.empty()) << f;
      (void)w.lint();
      ++files;
    }
  }
  EXPECT_GT(files, 90u);
}

std::string aws(const std::string& f) {
  return std::string(LG_CORPUS_DIR) + "/aws__aws-application-networking-k8s/files/examples/" + f;
}

TEST(Corpus, StandaloneGrpcRouteMissingBackendInClosedWorld) {
  World w;
  w.add_file(aws("my-gateway.yaml"));
  w.add_file(aws("standalone-grpcroute.yaml"));
  ASSERT_TRUE(w.error.empty()) << w.error;
  std::vector<std::string> d = describe(w.lint_rule("backendref-not-found"));
  ASSERT_FALSE(d.empty());
  EXPECT_NE(d[0].find("GRPCRoute"), std::string::npos);
}

}  // namespace
}  // namespace latticeguard::testing
