#include "rules/core/finding.h"

#include "rules/core/rule.h"

namespace latticeguard {

std::string_view to_string(Action a) {
  switch (a) {
    case Action::kDeny: return "deny";
    case Action::kWarn: return "warn";
    case Action::kAudit: return "audit";
    case Action::kOff: return "off";
  }
  return "off";
}

std::optional<Action> parse_action(std::string_view s) {
  if (s == "deny") return Action::kDeny;
  if (s == "warn") return Action::kWarn;
  if (s == "audit") return Action::kAudit;
  if (s == "off") return Action::kOff;
  return std::nullopt;
}

std::string_view rule_id(const Finding& f) { return f.rule ? f.rule->id : std::string_view{}; }

std::string to_warning(const Finding& f) {
  std::string out = field_path(f.pointer);
  out += ": ";
  out += f.message;
  out += " [";
  out += rule_id(f);
  out += "]";
  return out;
}

}  // namespace latticeguard
