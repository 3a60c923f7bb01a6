// Rule and RuleContext: a rule is metadata plus one check function that only reports.
//
//   void check(const Object& route, RuleContext& ctx) {
//     if (bad) ctx.report("/spec/rules/0", "VPC Lattice does not support ...");
//   }
//   extern constinit const Rule kMyRule{.id = "my-rule", ..., .check = check};
//
// Rules keep no state, do no I/O and never throw; they read the cluster only through
// ctx.cluster() and never know whether they serve lint, admission or audit. Rule objects are
// constinit data, so they are safe to share between threads; a RuleContext belongs to one
// evaluation on one thread.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rules/core/cluster_view.h"
#include "rules/core/config.h"
#include "rules/core/finding.h"
#include "rules/core/object.h"

namespace latticeguard {

enum class Operation { kCreate, kUpdate, kDelete, kConnect };

class RuleContext;
using CheckFn = void (*)(const Object& subject, RuleContext& ctx);

struct Rule {
  std::string_view id;            // kebab-case, never changes once shipped
  std::string_view catalogue;     // "REF-01": lattice-rules.md id
  std::string_view group;         // folder under rules/: references, healthcheck, auth, ...
  std::string_view summary;       // one line for `latticeguard rules`
  std::string_view remediation;   // how to fix, appended to deny messages
  Action default_action = Action::kWarn;
  std::span<const Kind> subjects;  // kinds the check runs on
  std::span<const Kind> reads;     // other kinds it reads through the cluster view
  bool inferred = false;           // the catalogue marks the fact "(inferred)"
  CheckFn check = nullptr;
};

class RuleContext {
 public:
  RuleContext(const Rule& rule, const ClusterView& view, const Config& config, Operation op,
              const Object* old_object, std::vector<Finding>& out, const ObjectPtr& subject)
      : rule_(rule), view_(view), config_(config), op_(op), old_(old_object), out_(out),
        subject_(subject) {}

  const ClusterView& cluster() const { return view_; }
  const Config& config() const { return config_; }
  // This rule's `options` from the config file (an empty object when none).
  const json& options() const;
  Operation operation() const { return op_; }
  // The object before the change, on UPDATE (nullptr otherwise).
  const Object* old_object() const { return old_; }

  void report(std::string pointer, std::string message, Level level = Level::kPrimary,
              std::optional<Fix> fix = std::nullopt);
  void report(std::string pointer, std::string message, Fix fix) {
    report(std::move(pointer), std::move(message), Level::kPrimary, std::move(fix));
  }

 private:
  const Rule& rule_;
  const ClusterView& view_;
  const Config& config_;
  Operation op_;
  const Object* old_;
  std::vector<Finding>& out_;
  const ObjectPtr& subject_;
};

}  // namespace latticeguard
