// latticeguard: admission webhook and linter for Gateway API on AWS VPC Lattice.
// Subcommands: lint, rules, explain, version (and serve, audit, certs where built in).
#include <CLI/CLI.hpp>
#include <iomanip>
#include <iostream>

#include "cli/commands.h"
#include "cli/heap.h"
#include "cli/lint.h"
#include "rules/registry.h"

using namespace latticeguard;

namespace {

std::string kinds_of(const Rule& r) {
  std::string out;
  for (const Kind& k : r.subjects) {
    if (!out.empty()) out += ",";
    out += k.kind;
  }
  return out;
}

int run_rules(const std::string& format) {
  if (format == "markdown") {
    std::cout << "| id | catalogue | default | kinds | summary |\n|---|---|---|---|---|\n";
    for (const Rule* r : all_rules()) {
      std::cout << "| `" << r->id << "` | " << r->catalogue << " | " << to_string(r->default_action)
                << " | " << kinds_of(*r) << " | " << r->summary << " |\n";
    }
    return 0;
  }
  std::cout << std::left << std::setw(42) << "ID" << std::setw(8) << "DEFAULT" << std::setw(44)
            << "KINDS"
            << "SUMMARY\n";
  for (const Rule* r : all_rules()) {
    std::cout << std::left << std::setw(42) << r->id << std::setw(8) << to_string(r->default_action)
              << std::setw(44) << kinds_of(*r) << r->summary << "\n";
  }
  return 0;
}

int run_explain(const std::string& id) {
  const Rule* r = find_rule(id);
  if (!r) {
    std::cerr << "latticeguard: unknown rule id \"" << id << "\" (see `latticeguard rules`)\n";
    return 2;
  }
  std::string_view doc = rule_doc(id);
  std::cout << doc;
  if (!doc.empty() && doc.back() != '\n') std::cout << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string prog = argc > 0 ? argv[0] : "latticeguard";
  bool as_kubectl_plugin = prog.find("kubectl-latticeguard") != std::string::npos;
  CLI::App app{"latticeguard: admission webhook and linter for Gateway API on AWS VPC Lattice",
               as_kubectl_plugin ? "kubectl latticeguard" : "latticeguard"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all");

  LintOptions lint;
  CLI::App* lint_cmd =
      app.add_subcommand("lint", "Lint manifests (files, directories, - for stdin)");
  lint_cmd->add_option("-f,--filename", lint.inputs, "File, directory (recursive) or -")
      ->required()
      ->take_all();
  lint_cmd->add_option("-o,--output", lint.output, "text | json | sarif")
      ->check(CLI::IsMember({"text", "json", "sarif"}));
  lint_cmd->add_option("--config", lint.config_file, "Configuration file (YAML)");
  lint_cmd->add_option("-n,--namespace", lint.default_namespace,
                       "Namespace for objects without one");
  lint_cmd->add_flag("--open-world", lint.open_world,
                     "Treat references to objects absent from the input as unknown");
  lint_cmd->add_flag("--assume-lattice", lint.assume_lattice,
                     "Treat Gateways whose GatewayClass is not in the input as Lattice Gateways");
  lint_cmd->add_flag("--include-audit", lint.include_audit,
                     "Also show audit-level findings (notices meant for audit reports)");
  lint_cmd->add_flag("--fix", lint.fix, "Print the manifests with all safe fixes applied");
  lint_cmd->add_flag("--write", lint.write, "With --fix: rewrite the files in place");
  ClusterFlags lint_cluster;
  add_cluster_lint_flags(*lint_cmd, lint_cluster);

  std::string rules_format = "table";
  CLI::App* rules_cmd = app.add_subcommand("rules", "List every rule");
  rules_cmd->add_option("--format", rules_format, "table | markdown")
      ->check(CLI::IsMember({"table", "markdown"}));

  std::string explain_id;
  CLI::App* explain_cmd = app.add_subcommand("explain", "Print a rule's documentation page");
  explain_cmd->add_option("rule-id", explain_id, "Rule id")->required();

  CLI::App* version_cmd = app.add_subcommand("version", "Print the version");

  Commands extra = add_commands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;  // usage errors exit 2, like input errors
  }

  if (*lint_cmd) {
    if (lint.write && !lint.fix) {
      std::cerr << "latticeguard: --write needs --fix\n";
      return 2;
    }
    lint.one_shot = true;
    prefer_huge_pages(size_t{1} << 30);
    return run_lint_maybe_cluster(lint, lint_cluster);
  }
  if (*rules_cmd) return run_rules(rules_format);
  if (*explain_cmd) return run_explain(explain_id);
  if (*version_cmd) {
    std::cout << "latticeguard " << LATTICEGUARD_VERSION << "\n";
    return 0;
  }
  return run_commands(extra);
}
