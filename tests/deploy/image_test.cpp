// The Dockerfile (not built in CI: no registry access) read as text, hadolint-style, and the krew
// plugin manifest.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "re2/re2.h"
#include "yaml_json.h"

namespace latticeguard::testing {
namespace {

using nlohmann::json;

struct Instruction {
  std::string op;    // FROM, RUN, USER, ...
  std::string args;  // continuation lines joined
};

// Dockerfile instructions with `\` continuations joined and comments dropped.
std::vector<Instruction> instructions() {
  const std::string text = read_text(std::string(LG_SOURCE_DIR) + "/Dockerfile");
  std::vector<Instruction> out;
  std::string pending;
  for (const std::string& line : split_lines(text)) {
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    const bool cont = line.back() == '\\';
    pending += line.substr(first, line.size() - first - (cont ? 1 : 0)) + " ";
    if (cont) continue;
    const size_t sp = pending.find(' ');
    out.push_back({pending.substr(0, sp), pending.substr(sp + 1)});
    pending.clear();
  }
  return out;
}

std::vector<std::string> packages_from_deps() {
  const std::string deps = read_text(std::string(LG_SOURCE_DIR) + "/scripts/deps");
  static const RE2 kPkgs(R"(PKGS=\(([^)]*)\))");
  std::string list;
  EXPECT_TRUE(RE2::PartialMatch(deps, kPkgs, &list));
  std::vector<std::string> out;
  static const RE2 kWord(R"(([A-Za-z0-9.+-]+))");
  re2::StringPiece in(list);
  std::string word;
  while (RE2::FindAndConsume(&in, kWord, &word)) out.push_back(word);
  return out;
}

TEST(Dockerfile, IsMultiStageWithPinnedTags) {
  std::vector<std::string> froms;
  for (const Instruction& i : instructions()) {
    if (i.op == "FROM") froms.push_back(i.args);
  }
  ASSERT_GE(froms.size(), 2u);
  static const RE2 kImage(R"(^(\S+?)(?::(\S+))?(?:@\S+)?(?:\s+AS\s+\S+)?\s*$)");
  for (const std::string& from : froms) {
    std::string image, tag;
    ASSERT_TRUE(RE2::FullMatch(from, kImage, &image, &tag)) << from;
    EXPECT_FALSE(tag.empty()) << from << ": untagged means latest";
    EXPECT_NE(tag, "latest") << from;
  }
  EXPECT_TRUE(froms.back().starts_with("debian:bookworm-slim")) << froms.back();
  EXPECT_TRUE(froms.front().starts_with("debian:bookworm ")) << froms.front();
}

TEST(Dockerfile, RuntimeRunsAsNonRootWithOnlyTheBinary) {
  const std::vector<Instruction> all = instructions();
  size_t last_from = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i].op == "FROM") last_from = i;
  }
  std::string user, entrypoint;
  bool copies_binary = false;
  for (size_t i = last_from; i < all.size(); ++i) {
    if (all[i].op == "USER") user = all[i].args;
    if (all[i].op == "ENTRYPOINT") entrypoint = all[i].args;
    if (all[i].op == "COPY") {
      EXPECT_NE(all[i].args.find("--from=build"), std::string::npos) << all[i].args;
      copies_binary =
          copies_binary || all[i].args.find("/usr/bin/latticeguard") != std::string::npos;
    }
    if (all[i].op == "ADD") ADD_FAILURE() << "ADD in runtime stage";
  }
  EXPECT_TRUE(copies_binary);
  EXPECT_EQ(user, "65532:65532 ");
  EXPECT_EQ(entrypoint, "[\"/usr/bin/latticeguard\"] ");
}

TEST(Dockerfile, AptIsHygienicAndBuildDepsMatchScriptsDeps) {
  std::string build_run, runtime_run;
  int stage = -1;
  for (const Instruction& i : instructions()) {
    if (i.op == "FROM") ++stage;
    if (i.op != "RUN") continue;
    (stage == 0 ? build_run : runtime_run) += i.args;
    if (i.args.find("apt-get install") != std::string::npos) {
      EXPECT_NE(i.args.find("--no-install-recommends"), std::string::npos) << i.args;
      EXPECT_NE(i.args.find("rm -rf /var/lib/apt/lists/*"), std::string::npos) << i.args;
      EXPECT_NE(i.args.find("apt-get update"), std::string::npos) << "update in the same layer";
    }
  }
  for (const std::string& pkg : packages_from_deps()) {
    // Every library the project builds against; test-only and tool packages stay out.
    const bool library =
        pkg.ends_with("-dev") && pkg != "libgtest-dev" && pkg != "libclang-rt-14-dev";
    if (library) {
      EXPECT_NE(build_run.find(" " + pkg + " "), std::string::npos) << pkg;
    }
  }
  EXPECT_NE(build_run.find("-DLATTICEGUARD_TESTS=OFF"), std::string::npos);
  for (const char* lib :
       {"libcpp-httplib0.11", "libssl3", "libre2-9", "libspdlog1.10", "libfmt9", "libfyaml0"}) {
    EXPECT_NE(runtime_run.find(lib), std::string::npos) << lib;
  }
  EXPECT_EQ(runtime_run.find("-dev "), std::string::npos) << "no headers in the runtime image";
}

TEST(KrewManifest, IsAValidPluginManifest) {
  Result<std::vector<json>> docs =
      yaml_documents(read_text(std::string(LG_SOURCE_DIR) + "/plugins/krew/latticeguard.yaml"));
  ASSERT_TRUE(docs && docs->size() == 1);
  const json& p = docs->front();
  EXPECT_EQ(p["apiVersion"], "krew.googlecontainertools.github.com/v1alpha2");
  EXPECT_EQ(p["kind"], "Plugin");
  EXPECT_EQ(p["metadata"]["name"], "latticeguard");
  const json& spec = p["spec"];
  static const RE2 kSemver(R"(v\d+\.\d+\.\d+)");
  EXPECT_TRUE(RE2::FullMatch(spec.value("version", ""), kSemver));
  EXPECT_FALSE(spec.value("shortDescription", "").empty());
  EXPECT_LE(spec.value("shortDescription", "").size(), 50u);  // krew's limit
  ASSERT_GE(spec["platforms"].size(), 1u);
  static const RE2 kSha(R"([0-9a-f]{64})");
  std::set<std::string> targets;
  for (const json& pl : spec["platforms"]) {
    const json& labels = pl["selector"]["matchLabels"];
    targets.insert(labels.value("os", "") + "/" + labels.value("arch", ""));
    EXPECT_TRUE(pl.value("uri", "").starts_with("https://")) << pl.dump();
    EXPECT_TRUE(pl.value("uri", "").find(spec["version"].get<std::string>()) != std::string::npos);
    EXPECT_TRUE(RE2::FullMatch(pl.value("sha256", ""), kSha)) << pl.dump();
    EXPECT_EQ(pl["bin"], "kubectl-latticeguard");
    bool ships_bin = false;
    for (const json& f : pl["files"])
      ships_bin = ships_bin || f.value("to", "") == "kubectl-latticeguard";
    EXPECT_TRUE(ships_bin);
  }
  EXPECT_EQ(targets.size(), spec["platforms"].size()) << "duplicate platform";
}

}  // namespace
}  // namespace latticeguard::testing
