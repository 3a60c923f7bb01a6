// Config: the user's configuration file (YAML), shared by lint, serve and audit.
//
//   rules: {backendref-not-found: warn, hc-value-ranges: off}
//   productionNamespaces: {matchExpressions: [{key: environment, operator: In, values: [prod]}]}
//   defaultHostname: {domain: example.com, template: "{route}.{namespace}.{domain}"}
//   failOpenUntilSynced: true
//
// Unknown keys and unknown rule ids are errors naming the key. A Config is immutable after load;
// serve swaps whole Configs (shared_ptr<const Config>) on reload, so readers need no locks.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/core/finding.h"
#include "rules/core/object.h"
#include "rules/core/result.h"

namespace latticeguard {

// A Kubernetes label selector (matchLabels + matchExpressions with In/NotIn/Exists/DoesNotExist).
// An empty selector matches everything; `none()` matches nothing.
class LabelSelector {
 public:
  struct Requirement {
    std::string key;
    std::string op;  // In, NotIn, Exists, DoesNotExist
    std::vector<std::string> values;
  };
  static Result<LabelSelector> from_json(const json& j);  // {matchLabels, matchExpressions}
  // "environment in (production, prod),tier!=dev" (kubectl -l syntax) or
  // "environment In [production, prod]".
  static Result<LabelSelector> parse(std::string_view text);
  static LabelSelector none();
  bool matches(const json& labels) const;  // labels: object of strings, or null
  bool matches_nothing() const { return nothing_; }
  const std::vector<Requirement>& requirements() const { return reqs_; }

 private:
  std::vector<Requirement> reqs_;
  bool nothing_ = false;
};

struct Config {
  std::map<std::string, Action, std::less<>> actions;  // rule id -> action override
  std::map<std::string, json, std::less<>> options;    // rule id -> rules.<id>.options
  LabelSelector production;  // default: environment In [production, prod]
  std::string hostname_domain;  // empty: no hostname fix
  std::string hostname_template = "{route}.{namespace}.{domain}";
  bool fail_open_until_synced = true;

  // Set from flags, not from the file.
  bool open_world = false;      // absent referents are unknown, not missing
  bool assume_lattice = false;  // unresolvable parents count as Lattice
  std::string default_namespace = "default";

  static Config defaults();
  // Parses the YAML text; errors name the key (and line when known).
  static Result<Config> parse_yaml(std::string_view text, std::string_view file_name);
  static Result<Config> load(const std::string& path);

  Action action_for(std::string_view rule_id, Action default_action) const;
  const json& options_for(std::string_view rule_id) const;
};

}  // namespace latticeguard
