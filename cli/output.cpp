#include "cli/output.h"

#include <map>
#include <set>

#include "rules/core/engine.h"
#include "rules/registry.h"

namespace latticeguard {
namespace {

struct Location {
  std::string file;
  int line = 0, column = 0;
};

Location locate(const Finding& f) {
  Location l;
  if (f.object && f.object->source()) {
    l.file = f.object->source()->file();
    auto [line, col] = f.object->source()->position(f.pointer);
    l.line = line;
    l.column = col;
  }
  return l;
}

std::string object_label(const Object& o) {
  return o.ns().empty() ? o.kind_name() + " " + o.name()
                        : o.kind_name() + " " + o.ns() + "/" + o.name();
}

}  // namespace

Summary summarize(std::span<const Finding> findings, int objects, int files) {
  Summary s;
  s.objects = objects;
  s.files = files;
  for (const Finding& f : findings) {
    if (!is_enforced(f)) continue;
    if (f.action == Action::kDeny) s.deny++;
    if (f.action == Action::kWarn) s.warn++;
    if (f.action == Action::kAudit) s.audit++;
  }
  return s;
}

std::string text_line(const Finding& f) {
  Location l = locate(f);
  std::string out;
  if (!l.file.empty()) {
    out = l.file + ":" + std::to_string(l.line) + ":" + std::to_string(l.column) + ": ";
  }
  out += std::string(to_string(f.action)) + ": ";
  if (f.object) out += object_label(*f.object) + ": ";
  out += to_warning(f);
  return out;
}

void print_text(std::ostream& out, std::span<const Finding> findings) {
  for (const Finding& f : findings) {
    if (!is_enforced(f)) continue;
    out << text_line(f) << "\n";
    if (f.fix) out << "    fix: " << f.fix->title << "\n";
  }
}

json to_json(std::span<const Finding> findings, const Summary& s) {
  json arr = json::array();
  for (const Finding& f : findings) {
    if (!is_enforced(f)) continue;
    Location l = locate(f);
    json j = {{"rule", rule_id(f)},
              {"action", to_string(f.action)},
              {"kind", f.object ? f.object->kind_name() : ""},
              {"namespace", f.object ? f.object->ns() : ""},
              {"name", f.object ? f.object->name() : ""},
              {"path", f.pointer},
              {"message", f.message}};
    if (!l.file.empty()) {
      j["file"] = l.file;
      j["line"] = l.line;
      j["column"] = l.column;
    }
    if (f.fix) j["fix"] = {{"title", f.fix->title}, {"patch", f.fix->ops}};
    arr.push_back(std::move(j));
  }
  return {{"findings", std::move(arr)},
          {"summary",
           {{"deny", s.deny},
            {"warn", s.warn},
            {"audit", s.audit},
            {"objects", s.objects},
            {"files", s.files}}}};
}

json to_sarif(std::span<const Finding> findings, std::string_view version) {
  json rules = json::array();
  std::map<std::string_view, int> index;
  for (const Rule* r : all_rules()) {
    index[r->id] = static_cast<int>(rules.size());
    std::string level = r->default_action == Action::kDeny   ? "error"
                        : r->default_action == Action::kWarn ? "warning"
                                                             : "note";
    rules.push_back(
        {{"id", r->id},
         {"name", r->id},
         {"shortDescription", {{"text", r->summary}}},
         {"fullDescription", {{"text", r->summary}}},
         {"help", {{"text", r->remediation}}},
         {"helpUri", std::string(kRuleDocsBase) + rule_stem(*r) + ".md"},
         {"defaultConfiguration", {{"level", level}}},
         {"properties", {{"catalogue", r->catalogue}, {"group", r->group}}}});
  }
  json results = json::array();
  for (const Finding& f : findings) {
    if (!is_enforced(f)) continue;
    Location l = locate(f);
    std::string level = f.action == Action::kDeny ? "error"
                        : f.action == Action::kWarn ? "warning"
                                                    : "note";
    json r = {{"ruleId", rule_id(f)},
              {"level", level},
              {"message",
               {{"text", (f.object ? object_label(*f.object) + ": " : std::string()) +
                             to_warning(f)}}}};
    if (auto it = index.find(rule_id(f)); it != index.end()) r["ruleIndex"] = it->second;
    json loc = {{"logicalLocations",
                 json::array({{{"fullyQualifiedName",
                                (f.object ? object_label(*f.object) : std::string()) +
                                    f.pointer}}})}};
    if (!l.file.empty()) {
      loc["physicalLocation"] = {
          {"artifactLocation", {{"uri", l.file}}},
          {"region", {{"startLine", std::max(1, l.line)}, {"startColumn", std::max(1, l.column)}}}};
    }
    r["locations"] = json::array({loc});
    results.push_back(std::move(r));
  }
  return {{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
          {"version", "2.1.0"},
          {"runs",
           json::array({{{"tool",
                          {{"driver",
                            {{"name", "latticeguard"},
                             {"version", version},
                             {"informationUri", "https://github.com/latticeguard/latticeguard"},
                             {"rules", std::move(rules)}}}}},
                         {"results", std::move(results)}}})}};
}

}  // namespace latticeguard
