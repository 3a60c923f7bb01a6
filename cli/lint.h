// `latticeguard lint`: files in, findings out (also the kubectl plugin's main job).
//
//   LintOptions o; o.inputs = {"app/", "gateway.yaml"};
//   int exit_code = run_lint(o, std::cout, std::cerr);   // 0 clean, 1 deny, 2 input error
//
// Not thread-safe with itself (writes to the given streams); the engine underneath is.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "rules/core/cluster_view.h"
#include "rules/core/config.h"
#include "rules/core/manifest.h"

namespace latticeguard {

struct LintOptions {
  std::vector<std::string> inputs;  // files, directories (recursive), or "-" for stdin
  std::string output = "text";      // text | json | sarif
  std::string config_file;
  std::string default_namespace = "default";
  bool open_world = false;
  bool assume_lattice = false;
  bool fix = false;    // print the manifests with safe fixes applied
  bool write = false;  // with fix: rewrite the files in place
  // `audit`-level findings belong to audit reports (DESIGN §3); lint shows them only when asked.
  bool include_audit = false;
  // Optional base index (`lint --cluster`): the files are laid over it.
  const ObjectIndex* base = nullptr;
  // The process exits after this run: what it built is not freed (see run_lint).
  bool one_shot = false;
};

struct LoadedFiles {
  std::vector<ManifestFile> files;  // each keeps its text (ManifestFile::text) for --fix
};

// Reads and decodes every input; errors are "file:line:col: message". `may_map`: large files
// may be mapped rather than read (not when they will be rewritten while their objects live).
Result<LoadedFiles> load_inputs(const std::vector<std::string>& inputs,
                                std::string_view default_namespace, bool may_map = false);

int run_lint(const LintOptions& opts, std::ostream& out, std::ostream& err);

}  // namespace latticeguard
