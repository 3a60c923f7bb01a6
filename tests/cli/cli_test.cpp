// End-to-end tests of the `latticeguard` binary as users run it: exit codes, output formats,
// error messages with file:line:col, --fix, the kubectl plugin name, and the bundled examples.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "rules/core/manifest.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct CmdResult {
  int code = -1;
  std::string out, err;
};

// Runs the binary with a shell command line; stdout and stderr captured separately.
CmdResult run(const std::string& args, const std::string& stdin_text = "",
              const std::string& binary = std::string(LG_BINARY_DIR) + "/latticeguard") {
  fs::path dir = fs::temp_directory_path() / ("lgcli-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string in = (dir / "in").string(), err = (dir / "err").string();
  std::ofstream(in) << stdin_text;
  std::string cmd =
      "cd " + std::string(LG_SOURCE_DIR) + " && " + binary + " " + args + " <" + in + " 2>" + err;
  CmdResult r;
  FILE* p = popen(cmd.c_str(), "r");
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream e(err);
  std::stringstream ss;
  ss << e.rdbuf();
  r.err = ss.str();
  return r;
}

TEST(Cli, TutorialLintsClean) {
  CmdResult r = run("lint -f manifests/examples/tutorial/");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("0 deny, 0 warn"), std::string::npos) << r.err;
}

TEST(Cli, DenyFindingPrintsFileLineColumnAndExitsOne) {
  CmdResult r = run("lint -f manifests/examples/broken/backendref-not-found/");
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  // path/file.yaml:LINE:COL: deny: Kind namespace/name: field.path: message [rule-id]
  EXPECT_NE(r.out.find("manifests/examples/broken/backendref-not-found/manifest.yaml:"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(": deny: HTTPRoute default/demo-http-route: spec.rules[1].backendRefs[0]: "),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("[backendref-not-found]"), std::string::npos) << r.out;
}

TEST(Cli, EveryBrokenExampleDeniesWithItsOwnRule) {
  int dirs = 0;
  for (const auto& d :
       fs::directory_iterator(std::string(LG_SOURCE_DIR) + "/manifests/examples/broken")) {
    if (!d.is_directory()) continue;
    std::string id = d.path().filename().string();
    CmdResult r = run("lint -o json -f " + d.path().string());
    json j = json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << id << ": " << r.out << r.err;
    bool own = false;
    for (const json& f : j["findings"]) {
      if (f["rule"] == id) own = true;
      if (f["action"] == "deny") {
        EXPECT_EQ(f["rule"], id) << id << " also denies: " << f.dump();
      }
    }
    EXPECT_TRUE(own) << id << " does not report its own rule: " << r.out;
    ++dirs;
  }
  EXPECT_GE(dirs, 15);
}

// Files of 1 MiB and more are mapped rather than read: positions and findings must come out the
// same as for a small file, down to the line of the last document.
TEST(Cli, LargeFileReportsTheRightLine) {
  fs::path file =
      fs::temp_directory_path() / ("lgcli-large-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream out(file);
  int line = 1;
  for (int i = 0; out.tellp() < (3 << 19); ++i) {
    out << "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-" << i
        << "\nspec:\n  ports:\n  - port: 80\n---\n";
    line += 8;
  }
  out << "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: late\n"
         "spec:\n  parentRefs:\n  - name: gw\n  rules:\n  - backendRefs:\n    - name: missing\n    "
         "  port: 80\n";
  out.close();
  ASSERT_GE(fs::file_size(file), size_t{1} << 20);
  CmdResult r = run("lint --assume-lattice -f " + file.string());
  fs::remove(file);
  EXPECT_EQ(r.code, 1) << r.err;
  // The backendRef starts on the 10th line of the last document.
  std::string where = file.string() + ":" + std::to_string(line + 9) + ":";
  EXPECT_NE(r.out.find(where), std::string::npos) << where << "\n" << r.out.substr(0, 400);
  EXPECT_NE(r.out.find("[backendref-not-found]"), std::string::npos) << r.out.substr(0, 400);
}

// A file that cannot be read names itself and the system's reason, and exits 2.
TEST(Cli, UnreadableFileSaysWhy) {
  CmdResult r = run("lint -f /proc/self/mem");  // opens, but read(2) fails with EIO
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.err.find("/proc/self/mem: cannot read file: Input/output error"), std::string::npos)
      << r.err;
}

TEST(Cli, JsonOutputShape) {
  CmdResult r = run("lint -o json -f manifests/examples/broken/backendref-not-found/");
  json j = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  ASSERT_FALSE(j["findings"].empty());
  const json& f = j["findings"][0];
  for (const char* k : {"rule", "action", "kind", "namespace", "name", "path", "message", "file",
                        "line", "column"}) {
    EXPECT_TRUE(f.contains(k)) << k;
  }
  EXPECT_EQ(f["path"].get<std::string>().front(), '/');
  for (const char* k : {"deny", "warn", "audit", "objects", "files"}) {
    EXPECT_TRUE(j["summary"].contains(k)) << k;
  }
  EXPECT_EQ(j["summary"]["files"], 1);
}

TEST(Cli, SarifIsValid210WithRulesAndLocations) {
  CmdResult r = run("lint -o sarif -f manifests/examples/broken/backendref-not-found/");
  json j = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["version"], "2.1.0");
  const json& run0 = j["runs"][0];
  const json& rules = run0["tool"]["driver"]["rules"];
  ASSERT_FALSE(rules.empty());
  for (const json& rule : rules) {
    EXPECT_TRUE(rule.contains("id"));
    EXPECT_TRUE(rule["shortDescription"].contains("text"));
    EXPECT_TRUE(rule["help"].contains("text"));
    EXPECT_NE(rule["helpUri"].get<std::string>().find(".md"), std::string::npos);
  }
  ASSERT_FALSE(run0["results"].empty());
  const json& res = run0["results"][0];
  EXPECT_EQ(res["level"], "error");
  EXPECT_EQ(rules[res["ruleIndex"].get<int>()]["id"], res["ruleId"]);
  const json& loc = res["locations"][0]["physicalLocation"];
  EXPECT_GT(loc["region"]["startLine"].get<int>(), 0);
  EXPECT_FALSE(loc["artifactLocation"]["uri"].get<std::string>().empty());
}

TEST(Cli, InputErrorsExitTwoWithFileLineColumn) {
  CmdResult r =
      run("lint -f -", "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\nspec:\n  ports: 80\n");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("<stdin>:6:3: spec.ports: expected a list"), std::string::npos) << r.err;

  r = run("lint -f -", "apiVersion: v1\nkind: [oops\n");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("<stdin>:"), std::string::npos) << r.err;

  r = run("lint -f does/not/exist.yaml");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("does/not/exist.yaml"), std::string::npos) << r.err;

  r = run("lint -f - -f -",
          "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Service\n"
          "metadata: {name: a}\n");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("duplicate object Service default/a"), std::string::npos) << r.err;

  r = run("lint --bogus -f x");
  EXPECT_EQ(r.code, 2);
}

TEST(Cli, BothUpstreamHotelGatewaysInOneSetAreADuplicateObject) {
  // my-hotel-gateway.yaml and my-hotel-gateway-multi-listeners.yaml both declare default/my-hotel.
  std::string dir =
      std::string(LG_CORPUS_DIR) + "/aws__aws-application-networking-k8s/files/examples/";
  CmdResult r = run("lint -f " + dir + "my-hotel-gateway-multi-listeners.yaml -f " + dir +
                    "my-hotel-gateway.yaml");
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("my-hotel-gateway.yaml:1:1: duplicate object Gateway default/my-hotel "
                       "(first defined at " +
                       dir + "my-hotel-gateway-multi-listeners.yaml:1:1)"),
            std::string::npos)
      << r.err;
}

TEST(Cli, ConfigUnknownKeysAndRuleIdsAreErrors) {
  fs::path cfg = fs::temp_directory_path() / "lg-cfg.yaml";
  std::ofstream(cfg) << "rules:\n  no-such-rule: warn\n";
  CmdResult r = run("lint --config " + cfg.string() + " -f manifests/examples/tutorial/");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("rules.no-such-rule: unknown rule id"), std::string::npos) << r.err;
  std::ofstream(cfg) << "rulez: {}\n";
  r = run("lint --config " + cfg.string() + " -f manifests/examples/tutorial/");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("rulez: unknown key"), std::string::npos) << r.err;
  // Lowering a rule to warn turns the exit code to 0.
  std::ofstream(cfg) << "rules: {backendref-not-found: warn}\n";
  r = run("lint --config " + cfg.string() + " -f manifests/examples/broken/backendref-not-found/");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(": warn: "), std::string::npos);
}

TEST(Cli, OpenWorldTreatsAbsentServicesAsUnknown) {
  CmdResult r = run("lint --open-world -f manifests/examples/broken/backendref-not-found/");
  EXPECT_EQ(r.out.find("[backendref-not-found]"), std::string::npos) << r.out;
}

TEST(Cli, FixPrintsPatchedManifestsAndWriteRewrites) {
  CmdResult r =
      run("lint --fix -f manifests/examples/fixable/tg-policy.yaml -f "
          "manifests/examples/fixable/demo-app.yaml");
  auto decoded = latticeguard::decode_manifest(r.out, "fixed.yaml", "default");
  ASSERT_TRUE(decoded) << r.out;
  bool found = false;
  for (const auto& o : decoded->objects) {
    if (o->kind_name() != "TargetGroupPolicy") continue;
    const json& hc = o->raw()["spec"]["healthCheck"];
    EXPECT_EQ(hc["path"], "/v1/health");
    EXPECT_EQ(hc["statusMatch"], "200-399");
    found = true;
  }
  EXPECT_TRUE(found) << r.out;

  fs::path dir = fs::temp_directory_path() / "lg-fix-write";
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy(std::string(LG_SOURCE_DIR) + "/manifests/examples/fixable", dir,
           fs::copy_options::recursive);
  r = run("lint --fix --write -f " + dir.string());
  std::ifstream in(dir / "tg-policy.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_NE(ss.str().find("path: /v1/health"), std::string::npos) << ss.str();
  EXPECT_NE(ss.str().find("# No healthCheck"), std::string::npos) << "comments kept";
  // Idempotent: a second run changes nothing.
  r = run("lint --fix --write -f " + dir.string());
  EXPECT_EQ(r.err.find("fixed "), std::string::npos) << r.err;
}

TEST(Cli, RulesExplainVersionAndKubectlPluginName) {
  CmdResult r = run("rules");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("backendref-not-found"), std::string::npos);
  r = run("explain backendref-not-found");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.rfind("# backendref-not-found", 0), 0u) << r.out;
  r = run("explain nope");
  EXPECT_EQ(r.code, 2);
  r = run("version");
  EXPECT_NE(r.out.find("latticeguard "), std::string::npos);
  r = run("lint -f manifests/examples/tutorial/", "",
          std::string(LG_BINARY_DIR) + "/kubectl-latticeguard");
  EXPECT_EQ(r.code, 0) << r.err;
  if (fs::exists("/usr/bin/kubectl")) {
    CmdResult k =
        run("latticeguard version", "", "PATH=" + std::string(LG_BINARY_DIR) + ":$PATH kubectl");
    EXPECT_EQ(k.code, 0) << k.err;
    EXPECT_NE(k.out.find("latticeguard "), std::string::npos) << k.out << k.err;
  }
}

// `cmake --install` puts the binary and the kubectl plugin link in the prefix.
TEST(Cli, InstallPutsBinaryAndKubectlPluginInPrefix) {
  fs::path prefix = fs::temp_directory_path() / ("lg-install-" + std::to_string(::getpid()));
  fs::remove_all(prefix);
  std::string cmd = "cmake --install " + std::string(LG_BINARY_DIR) + " --prefix " +
                    prefix.string() + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_TRUE(fs::exists(prefix / "bin/latticeguard"));
  ASSERT_TRUE(fs::is_symlink(prefix / "bin/kubectl-latticeguard"));
  EXPECT_EQ(fs::read_symlink(prefix / "bin/kubectl-latticeguard"), "latticeguard");
  CmdResult r = run("version", "", (prefix / "bin/kubectl-latticeguard").string());
  EXPECT_NE(r.out.find("latticeguard "), std::string::npos);
  fs::remove_all(prefix);
}

// The install manifests and the chart start `serve` with flags the binary must accept.
TEST(Cli, DeploymentArgsAreServeFlags) {
  CmdResult help = run("serve --help");
  ASSERT_EQ(help.code, 0) << help.err;
  int checked = 0;
  for (const char* file :
       {"/manifests/deployment.yaml", "/charts/latticeguard/templates/deployment.yaml"}) {
    std::ifstream in(std::string(LG_SOURCE_DIR) + file);
    ASSERT_TRUE(in) << file;
    std::string line;
    while (std::getline(in, line)) {
      size_t at = line.find("- --");
      if (at == std::string::npos) continue;
      std::string flag = line.substr(at + 2);
      flag = flag.substr(0, flag.find_first_of("= \r"));
      EXPECT_NE(help.out.find(flag), std::string::npos) << file << ": " << flag;
      ++checked;
    }
  }
  EXPECT_GE(checked, 10);
}

}  // namespace
