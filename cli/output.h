// Renderers for findings: the text line format, JSON, and SARIF 2.1.0.
//
//   print_text(std::cout, findings);
//   std::cout << to_json(findings, summary).dump(2);
//
// Pure functions of their inputs; thread-safe.
#pragma once

#include <ostream>
#include <span>
#include <string>

#include "rules/core/finding.h"

namespace latticeguard {

struct Summary {
  int deny = 0, warn = 0, audit = 0, objects = 0, files = 0;
};
Summary summarize(std::span<const Finding> findings, int objects, int files);

// path/file.yaml:LINE:COL: deny|warn|audit: Kind namespace/name: field.path: message [rule-id]
std::string text_line(const Finding& f);
void print_text(std::ostream& out, std::span<const Finding> findings);
json to_json(std::span<const Finding> findings, const Summary& s);
json to_sarif(std::span<const Finding> findings, std::string_view version);

// Base address of the rule pages (helpUri); each rule's page is <base><group>/<stem>.md.
inline constexpr std::string_view kRuleDocsBase =
    "https://github.com/latticeguard/latticeguard/blob/main/rules/";

}  // namespace latticeguard
