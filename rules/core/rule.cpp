#include "rules/core/rule.h"

#include <algorithm>

namespace latticeguard {

const json& RuleContext::options() const { return config_.options_for(rule_.id); }

void RuleContext::report(std::string pointer, std::string message, Level level,
                         std::optional<Fix> fix) {
  Action configured = config_.action_for(rule_.id, rule_.default_action);
  Action a = configured;
  if (level == Level::kWarn) a = std::min(configured, Action::kWarn);
  if (level == Level::kInfo) a = std::min(configured, Action::kAudit);
  if (a == Action::kOff) return;
  Finding f;
  f.rule = &rule_;
  f.action = a;
  f.object = subject_;
  f.pointer = std::move(pointer);
  f.message = std::move(message);
  f.fix = std::move(fix);
  out_.push_back(std::move(f));
}

}  // namespace latticeguard
