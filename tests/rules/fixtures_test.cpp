// Runs every rule's fixture (rules/<group>/<stem>.yaml) and the examples of its documentation
// page (rules/<group>/<stem>.md): the findings of that rule must be exactly the expected set.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "re2/re2.h"
#include "rules/registry.h"
#include "tests/rules/test_util.h"

namespace latticeguard::testing {
namespace {

struct Fixture {
  std::string config;                 // from "# config: <yaml>" lines
  std::vector<std::string> chunks;    // one per document
  std::vector<std::vector<std::string>> expects;  // "ACTION POINTER" per document
};

Fixture parse_fixture(const std::string& text) {
  Fixture fx;
  std::istringstream in(text);
  std::string line, chunk;
  std::vector<std::string> exp;
  static const RE2 kExpect(R"(^#\s*expect:\s*(deny|warn|audit)\s+(\S*)\s*$)");
  static const RE2 kConfig(R"(^#\s*config:\s*(.*)$)");
  auto flush = [&] {
    fx.chunks.push_back(chunk);
    fx.expects.push_back(exp);
    chunk.clear();
    exp.clear();
  };
  while (std::getline(in, line)) {
    if (line == "---") {
      flush();
      continue;
    }
    std::string action, ptr, cfg;
    if (RE2::FullMatch(line, kExpect, &action, &ptr)) exp.push_back(action + " " + ptr);
    if (RE2::FullMatch(line, kConfig, &cfg)) fx.config += cfg + "\n";
    chunk += line + "\n";
  }
  flush();
  return fx;
}

std::string base_path(const Rule& r) {
  return std::string(LG_SOURCE_DIR) + "/rules/" + rule_stem(r);
}

class RuleFixture : public ::testing::TestWithParam<const Rule*> {};

TEST_P(RuleFixture, FindingsMatchInlineExpectations) {
  const Rule& rule = *GetParam();
  std::string path = base_path(rule) + ".yaml";
  ASSERT_TRUE(std::filesystem::exists(path)) << path;
  Fixture fx = parse_fixture(read_file(path));
  World w;
  if (!fx.config.empty()) {
    Result<Config> c = Config::parse_yaml(fx.config, path);
    ASSERT_TRUE(c) << c.error().message;
    *w.config = *c;
  }
  std::vector<std::string> expected;
  for (size_t i = 0; i < fx.chunks.size(); ++i) {
    size_t before = w.objects.size();
    w.add_text(fx.chunks[i], path);
    ASSERT_TRUE(w.error.empty()) << w.error;
    if (fx.expects[i].empty()) continue;
    ASSERT_EQ(w.objects.size(), before + 1) << "an expect: line must precede exactly one object";
    for (const std::string& e : fx.expects[i]) {
      size_t sp = e.find(' ');
      expected.push_back(e.substr(0, sp) + " " + w.objects.back()->display() + " " +
                         e.substr(sp + 1));
    }
  }
  std::sort(expected.begin(), expected.end());
  EXPECT_FALSE(expected.empty()) << "a fixture must show at least one finding";
  EXPECT_EQ(describe(w.lint_rule(rule.id)), expected) << path;
}

// The page's "## Example" block fires the rule; the "## Use instead" block does not.
TEST_P(RuleFixture, DocumentationExamplesBehave) {
  const Rule& rule = *GetParam();
  std::string path = base_path(rule) + ".md";
  ASSERT_TRUE(std::filesystem::exists(path)) << path;
  std::string md = read_file(path);
  for (const char* heading : {"## What it does", "## Why it matters", "## Example",
                              "## Use instead", "## Options", "## References"}) {
    EXPECT_NE(md.find(heading), std::string::npos) << path << " lacks " << heading;
  }
  EXPECT_EQ(md.rfind("# " + std::string(rule.id) + "\n", 0), 0u) << path << " must open with # id";
  EXPECT_EQ(std::string(rule_doc(rule.id)), md) << "compiled-in page is stale";
  auto block_after = [&](const std::string& heading) -> std::string {
    size_t h = md.find(heading);
    if (h == std::string::npos) return "";
    size_t b = md.find("```yaml\n", h);
    size_t e = md.find("```", b + 8);
    if (b == std::string::npos || e == std::string::npos) return "";
    return md.substr(b + 8, e - b - 8);
  };
  std::string bad = block_after("## Example");
  std::string good = block_after("## Use instead");
  ASSERT_FALSE(bad.empty()) << path << ": Example needs a ```yaml block";
  ASSERT_FALSE(good.empty()) << path << ": Use instead needs a ```yaml block";
  std::string cfg;
  static const RE2 kConfig(R"(<!--\s*config:\s*(.*?)\s*-->)");
  RE2::PartialMatch(md, kConfig, &cfg);
  auto run = [&](const std::string& yaml) {
    World w;
    if (!cfg.empty()) *w.config = *Config::parse_yaml(cfg, path);
    w.config->assume_lattice = true;
    w.add_text(yaml, path);
    EXPECT_TRUE(w.error.empty()) << w.error;
    return w.lint_rule(rule.id);
  };
  EXPECT_FALSE(run(bad).empty()) << path << ": the Example does not trigger " << rule.id;
  EXPECT_TRUE(run(good).empty()) << path << ": the Use instead block triggers " << rule.id;
}

std::string name_of(const ::testing::TestParamInfo<const Rule*>& info) {
  std::string s(info.param->id);
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}

INSTANTIATE_TEST_SUITE_P(AllRules, RuleFixture, ::testing::ValuesIn(all_rules().begin(),
                                                                      all_rules().end()),
                         name_of);

}  // namespace
}  // namespace latticeguard::testing
