// Guards the registry: ids unique, sorted, kebab-case; every rule has its .cpp, .md and .yaml
// side by side; every rule file belongs to a registered rule.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "re2/re2.h"
#include "rules/registry.h"

namespace latticeguard {
namespace {

namespace fs = std::filesystem;

TEST(RulesMeta, RegistryIsSortedUniqueAndWellFormed) {
  static const RE2 kId("[a-z][a-z0-9]*(-[a-z0-9]+)*");
  std::string_view prev;
  for (const Rule* r : all_rules()) {
    EXPECT_TRUE(RE2::FullMatch(std::string(r->id), kId)) << r->id;
    EXPECT_LE(r->id.size(), 63u) << r->id;
    EXPECT_LT(prev, r->id) << "registry not sorted/unique at " << r->id;
    prev = r->id;
    EXPECT_FALSE(r->summary.empty()) << r->id;
    EXPECT_FALSE(r->remediation.empty()) << r->id;
    EXPECT_FALSE(r->subjects.empty()) << r->id;
    EXPECT_NE(r->check, nullptr) << r->id;
    EXPECT_FALSE(r->catalogue.empty()) << r->id;
    EXPECT_EQ(find_rule(r->id), r);
    if (r->inferred) {
      EXPECT_LE(r->default_action, Action::kWarn) << r->id << " is inferred";
    }
  }
}

TEST(RulesMeta, EveryRuleHasCodeDocAndFixtureSideBySide) {
  for (const Rule* r : all_rules()) {
    std::string base = std::string(LG_SOURCE_DIR) + "/rules/" + rule_stem(*r);
    for (const char* ext : {".cpp", ".md", ".yaml"}) {
      EXPECT_TRUE(fs::exists(base + ext)) << r->id << " lacks " << base << ext;
    }
  }
}

TEST(RulesMeta, EveryRuleFileBelongsToARegisteredRule) {
  std::set<std::string> stems;
  for (const Rule* r : all_rules()) stems.insert(rule_stem(*r));
  for (const auto& group : fs::directory_iterator(std::string(LG_SOURCE_DIR) + "/rules")) {
    if (!group.is_directory() || group.path().filename() == "core") continue;
    for (const auto& f : fs::directory_iterator(group.path())) {
      std::string ext = f.path().extension().string();
      if (ext != ".cpp" && ext != ".md" && ext != ".yaml") continue;
      std::string stem = group.path().filename().string() + "/" + f.path().stem().string();
      EXPECT_TRUE(stems.count(stem)) << f.path() << " has no registered rule";
    }
  }
}

}  // namespace
}  // namespace latticeguard
