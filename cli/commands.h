// The subcommands that need the server, the Kubernetes client or certificates (serve, audit,
// certs) and `lint --cluster`. Kept apart from main.cpp so each stays small.
//
//   Commands c = add_commands(app);  ... app.parse(...);  return run_commands(c);
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "cli/lint.h"

namespace latticeguard {

struct ClusterFlags {
  bool cluster = false;
  std::string kubeconfig;
  std::string context;
};
void add_cluster_lint_flags(CLI::App& lint_cmd, ClusterFlags& flags);
int run_lint_maybe_cluster(LintOptions& lint, const ClusterFlags& flags);

struct CommandState;
struct Commands {
  std::shared_ptr<CommandState> state;
};
Commands add_commands(CLI::App& app);
int run_commands(const Commands& c);

}  // namespace latticeguard
