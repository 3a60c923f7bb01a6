// The rule registry: one table of every rule, sorted by id.
//
//   for (const Rule* r : all_rules()) ...;   const Rule* r = find_rule("hc-value-ranges");
//
// The table is constinit data; safe from any thread.
#pragma once

#include <span>
#include <string_view>

#include "rules/core/rule.h"

namespace latticeguard {

std::span<const Rule* const> all_rules();
const Rule* find_rule(std::string_view id);
// The rule's documentation page (rules/<group>/<stem>.md), compiled in; empty if none.
std::string_view rule_doc(std::string_view id);
// rules/<group>/<id with - replaced by _>  (the stem of the .cpp/.md/.yaml files)
std::string rule_stem(const Rule& r);

}  // namespace latticeguard
