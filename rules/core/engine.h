// Engine: selects the rules for an object, runs them, applies actions and suppressions.
//
//   Engine engine(all_rules(), config);
//   std::vector<Finding> f = engine.check(view.find(...), view);          // one object
//   std::vector<Finding> all = engine.check_all(view);                     // lint / audit
//   std::vector<Finding> d = engine.check_delete(deleted, view_without);   // DELETE impact
//
// The same engine serves lint, admission and audit; only the ClusterView differs. Scope: Gateways
// and routes are checked only when they belong to the VPC Lattice controller (lattice.h);
// policies and everything else always. An Engine is immutable and safe to share between threads.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "rules/core/cluster_view.h"
#include "rules/core/config.h"
#include "rules/core/finding.h"
#include "rules/core/rule.h"

namespace latticeguard {

inline constexpr std::string_view kIgnoreAnnotation = "latticeguard.io/ignore";

class Engine {
 public:
  Engine(std::span<const Rule* const> rules, std::shared_ptr<const Config> config);

  // Findings for one object (which must be in `view`), sorted by (pointer, rule id).
  // `old_object` is the previous version on UPDATE. Suppressed findings are kept with
  // `suppressed` set; callers that enforce drop them (is_enforced()).
  std::vector<Finding> check(const ObjectPtr& subject, const ClusterView& view,
                             Operation op = Operation::kCreate,
                             const Object* old_object = nullptr) const;
  // Every object in the view (lint, audit), ordered by object then pointer.
  std::vector<Finding> check_all(const ClusterView& view) const;
  // What removing `deleted` breaks: findings on the objects that depend on it which appear in
  // `after` (the view without it) but not in `before`. Each message names the deleted object.
  std::vector<Finding> check_removal(const Object& deleted, const ClusterView& before,
                                     const ClusterView& after) const;
  // The same for an UPDATE of `changed` (e.g. a Gateway listener change detaching routes).
  std::vector<Finding> check_impact(const Object& changed, const ClusterView& before,
                                    const ClusterView& after) const;

  const Config& config() const { return *config_; }
  std::span<const Rule* const> rules() const { return rules_; }

 private:
  std::vector<const Object*> dependents(const Object& o, const ClusterView& view) const;
  // The rules that run on a kind and are not off, in registry order.
  std::span<const Rule* const> rules_for(Kind k) const;
  std::span<const Rule* const> rules_;
  std::shared_ptr<const Config> config_;
  // Per known kind (index in known_kinds()): decided once, not per object and rule.
  std::vector<std::vector<const Rule*>> by_kind_;
};

// A finding that counts (not suppressed, not off).
bool is_enforced(const Finding& f);
void sort_findings(std::vector<Finding>& f);

}  // namespace latticeguard
