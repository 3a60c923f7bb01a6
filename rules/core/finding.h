// Finding, Action and Fix: what a rule reports and what the engine stamps on it.
//
//   for (const Finding& f : engine.check(obj, view)) std::cout << to_warning(f) << "\n";
//
// A finding carries exactly one JSON pointer (`pointer`): it is the field path in warnings, the
// key for the YAML line lookup, and the location fixes patch. Findings are plain values.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "rules/core/object.h"

namespace latticeguard {

struct Rule;

// Ordered by strength: kOff < kAudit < kWarn < kDeny.
enum class Action { kOff = 0, kAudit = 1, kWarn = 2, kDeny = 3 };
std::string_view to_string(Action a);
std::optional<Action> parse_action(std::string_view s);

// Part of a rule's verdict: the rule's main verdict takes the configured action; lesser parts
// (the catalogue's "(a) deny, (b) warn") are capped below it so `rules: {id: warn}` still lowers
// everything.
enum class Level { kPrimary, kWarn, kInfo };

// A safe fix: RFC 6902 operations ("add"/"replace") against the object as received (raw()).
// Applied by `lint --fix` to the YAML and turned into the mutating webhook's patch.
struct Fix {
  std::string title;  // imperative: "add healthCheck.path /v1/health from the readiness probe"
  json ops = json::array();
};

struct Finding {
  const Rule* rule = nullptr;
  Action action = Action::kWarn;
  ObjectPtr object;     // keeps the source map alive for file:line:col
  std::string pointer;  // RFC 6901, relative to the object root
  std::string message;  // <= 120 chars, lower-case start, no trailing period
  std::optional<Fix> fix;
  std::string suppressed;  // non-empty: suppressed by annotation, with the given reason
};

std::string_view rule_id(const Finding& f);
// "spec.rules[0].backendRefs[0]: <message> [rule-id]", the admission warning / deny line.
std::string to_warning(const Finding& f);

}  // namespace latticeguard
