// Audit reports over the bundled examples: PolicyReport shape and counts, capping, HTML and
// JUnit renderings.
#include "audit/report.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "rules/core/manifest.h"

namespace latticeguard::audit {
namespace {

namespace fs = std::filesystem;

ObjectIndex load_dir(const std::string& dir) {
  ObjectIndex index;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".yaml") continue;
    std::ifstream in(e.path());
    std::stringstream ss;
    ss << in.rdbuf();
    auto f = decode_manifest(ss.str(), e.path().string(), "default");
    EXPECT_TRUE(f) << f.error().message;
    if (!f) continue;
    for (const ObjectPtr& o : f->objects) index.put(o);
  }
  return index;
}

std::string examples(const std::string& sub) {
  return std::string(LG_SOURCE_DIR) + "/manifests/examples/" + sub;
}

TEST(AuditReport, PolicyReportsCountFailuresAndPasses) {
  ObjectIndex index = load_dir(examples("broken/backendref-not-found"));
  AuditRun run = audit_index(index, std::make_shared<Config>(Config::defaults()));
  auto reports = policy_reports(run, std::chrono::system_clock::now());
  ASSERT_FALSE(reports.empty());
  const nlohmann::json* ns_report = nullptr;
  for (const auto& r : reports) {
    EXPECT_EQ(r["apiVersion"], "wgpolicyk8s.io/v1alpha2");
    EXPECT_EQ(r["metadata"]["labels"]["app.kubernetes.io/managed-by"], "latticeguard");
    if (r["kind"] == "PolicyReport" && r["metadata"]["namespace"] == "default") ns_report = &r;
    int total = 0;
    for (const char* k : {"pass", "fail", "warn", "error", "skip"}) total += r["summary"][k].get<int>();
    EXPECT_EQ(total, static_cast<int>(r["results"].size()));
  }
  ASSERT_NE(ns_report, nullptr);
  EXPECT_GE((*ns_report)["summary"]["fail"].get<int>(), 1);
  EXPECT_GE((*ns_report)["summary"]["pass"].get<int>(), 1);
  const auto& first = (*ns_report)["results"][0];
  EXPECT_EQ(first["result"], "fail");
  EXPECT_EQ(first["policy"], "backendref-not-found");
  EXPECT_EQ(first["resources"][0]["kind"], "HTTPRoute");
  EXPECT_TRUE(first["timestamp"].contains("seconds"));
}

TEST(AuditReport, CappedReportsSaySo) {
  ObjectIndex index = load_dir(examples("tutorial"));
  AuditRun run = audit_index(index, std::make_shared<Config>(Config::defaults()));
  auto reports = policy_reports(run, std::chrono::system_clock::now(), 2);
  bool capped = false;
  for (const auto& r : reports) {
    EXPECT_LE(r["results"].size(), 2u);
    if (r["metadata"].contains("annotations")) {
      capped = true;
      EXPECT_NE(r["metadata"]["annotations"]["latticeguard.io/results-capped"].get<std::string>().find(
                    "left out"),
                std::string::npos);
    }
  }
  EXPECT_TRUE(capped);
}

TEST(AuditReport, HtmlIsSelfContainedAndShowsFindings) {
  ObjectIndex index = load_dir(examples("broken/backendref-not-found"));
  AuditRun run = audit_index(index, std::make_shared<Config>(Config::defaults()));
  std::string html = render_html(run);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("backendref-not-found"), std::string::npos);
  EXPECT_NE(html.find("demo-http-route"), std::string::npos);
  EXPECT_NE(html.find("spec.rules[1].backendRefs[0]"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
}

TEST(AuditReport, JunitHasOneFailurePerDeniedObject) {
  ObjectIndex index = load_dir(examples("broken/backendref-not-found"));
  AuditRun run = audit_index(index, std::make_shared<Config>(Config::defaults()));
  std::string xml = render_junit(run);
  EXPECT_NE(xml.find("<testsuites"), std::string::npos);
  EXPECT_NE(xml.find("failures=\"1\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<failure message="), std::string::npos);
  std::string table = render_table(run);
  EXPECT_NE(table.find("deny"), std::string::npos);
}

}  // namespace
}  // namespace latticeguard::audit
