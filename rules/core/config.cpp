#include "rules/core/config.h"

#include <re2/re2.h>

#include <fstream>
#include <set>
#include <sstream>

#include "rules/core/manifest.h"
#include "rules/registry.h"

namespace latticeguard {
namespace {

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t");
  return b == std::string_view::npos ? "" : std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> split_values(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ',') {
      if (!trim(cur).empty()) out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!trim(cur).empty()) out.push_back(trim(cur));
  return out;
}

// Splits on commas that are outside parentheses/brackets.
std::vector<std::string> split_requirements(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (char c : s) {
    if (c == '(' || c == '[') depth++;
    if (c == ')' || c == ']') depth--;
    if (c == ',' && depth == 0) {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!trim(cur).empty()) out.push_back(trim(cur));
  return out;
}

}  // namespace

LabelSelector LabelSelector::none() {
  LabelSelector s;
  s.nothing_ = true;
  return s;
}

Result<LabelSelector> LabelSelector::from_json(const json& j) {
  LabelSelector s;
  if (j.is_string()) return parse(j.get<std::string>());
  if (!j.is_object()) return Error{"label selector: expected a mapping or a string"};
  for (auto& [k, v] : j.items()) {
    if (k != "matchLabels" && k != "matchExpressions") {
      return Error{"label selector: unknown key " + k};
    }
  }
  if (auto it = j.find("matchLabels"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return Error{"matchLabels: expected a mapping"};
    for (auto& [k, v] : it->items()) {
      if (!v.is_string()) return Error{"matchLabels." + k + ": expected a string"};
      s.reqs_.push_back({k, "In", {v.get<std::string>()}});
    }
  }
  if (auto it = j.find("matchExpressions"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return Error{"matchExpressions: expected a list"};
    for (const json& e : *it) {
      if (!e.is_object() || !e.contains("key") || !e["key"].is_string() ||
          !e.contains("operator") || !e["operator"].is_string()) {
        return Error{"matchExpressions: each entry needs key and operator"};
      }
      Requirement r{e["key"].get<std::string>(), e["operator"].get<std::string>(), {}};
      if (r.op != "In" && r.op != "NotIn" && r.op != "Exists" && r.op != "DoesNotExist") {
        return Error{"matchExpressions: unknown operator " + r.op};
      }
      if (auto v = e.find("values"); v != e.end() && v->is_array()) {
        for (const json& x : *v) {
          if (x.is_string()) r.values.push_back(x.get<std::string>());
        }
      }
      s.reqs_.push_back(std::move(r));
    }
  }
  return s;
}

Result<LabelSelector> LabelSelector::parse(std::string_view text) {
  static const RE2 kSet(R"(^\s*([A-Za-z0-9._/-]+)\s+(?i:(in|notin))\s*[\(\[](.*)[\)\]]\s*$)");
  static const RE2 kEq(R"(^\s*([A-Za-z0-9._/-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)\s*$)");
  static const RE2 kExists(R"(^\s*(!?)([A-Za-z0-9._/-]+)\s*$)");
  LabelSelector s;
  for (const std::string& part : split_requirements(text)) {
    std::string key, op, values;
    if (RE2::FullMatch(part, kSet, &key, &op, &values)) {
      bool in = op == "in" || op == "In" || op == "IN";
      s.reqs_.push_back({key, in ? "In" : "NotIn", split_values(values)});
    } else if (RE2::FullMatch(part, kEq, &key, &op, &values)) {
      s.reqs_.push_back({key, op == "!=" ? "NotIn" : "In", {values}});
    } else if (std::string neg; RE2::FullMatch(part, kExists, &neg, &key)) {
      s.reqs_.push_back({key, neg.empty() ? "Exists" : "DoesNotExist", {}});
    } else {
      return Error{"label selector: cannot parse \"" + part + "\""};
    }
  }
  return s;
}

bool LabelSelector::matches(const json& labels) const {
  if (nothing_) return false;
  for (const Requirement& r : reqs_) {
    const json* v = nullptr;
    if (labels.is_object()) {
      auto it = labels.find(r.key);
      if (it != labels.end() && it->is_string()) v = &*it;
    }
    if (r.op == "Exists" && !v) return false;
    if (r.op == "DoesNotExist" && v) return false;
    if (r.op == "In") {
      if (!v) return false;
      if (std::find(r.values.begin(), r.values.end(), v->get<std::string>()) == r.values.end()) {
        return false;
      }
    }
    if (r.op == "NotIn" && v &&
        std::find(r.values.begin(), r.values.end(), v->get<std::string>()) != r.values.end()) {
      return false;
    }
  }
  return true;
}

Config Config::defaults() {
  Config c;
  c.production = *LabelSelector::parse("environment in (production, prod)");
  return c;
}

Result<Config> Config::parse_yaml(std::string_view text, std::string_view file_name) {
  Result<json> doc = yaml_to_json(text);
  auto fail = [&](const std::string& msg) {
    return Error{std::string(file_name) + ": " + msg};
  };
  if (!doc) {
    Error e = doc.error();
    e.message = std::string(file_name) + ":" + std::to_string(e.line) + ":" +
                std::to_string(e.column) + ": " + e.message;
    return e;
  }
  Config c = defaults();
  if (doc->is_null()) return c;
  if (!doc->is_object()) return fail("expected a mapping at the top level");
  for (auto& [key, value] : doc->items()) {
    if (key == "rules") {
      if (value.is_null()) continue;
      if (!value.is_object()) return fail("rules: expected a mapping of rule id to action");
      for (auto& [id, setting] : value.items()) {
        if (!find_rule(id)) return fail("rules." + id + ": unknown rule id");
        if (setting.is_string()) {
          std::optional<Action> a = parse_action(setting.get<std::string>());
          if (!a) return fail("rules." + id + ": expected deny, warn, audit or off");
          c.actions[id] = *a;
        } else if (setting.is_object()) {
          for (auto& [k, v] : setting.items()) {
            if (k == "action") {
              std::optional<Action> a = v.is_string() ? parse_action(v.get<std::string>())
                                                      : std::nullopt;
              if (!a) return fail("rules." + id + ".action: expected deny, warn, audit or off");
              c.actions[id] = *a;
            } else if (k == "options") {
              if (!v.is_object()) return fail("rules." + id + ".options: expected a mapping");
              c.options[id] = v;
            } else {
              return fail("rules." + id + "." + k + ": unknown key (expected action, options)");
            }
          }
        } else {
          return fail("rules." + id + ": expected an action or {action, options}");
        }
      }
    } else if (key == "productionNamespaces") {
      Result<LabelSelector> s =
          value.is_null() ? Result<LabelSelector>(LabelSelector::none()) : LabelSelector::from_json(value);
      if (!s) return fail("productionNamespaces: " + s.error().message);
      c.production = *s;
    } else if (key == "defaultHostname") {
      if (value.is_null()) continue;
      if (!value.is_object()) return fail("defaultHostname: expected a mapping");
      for (auto& [k, v] : value.items()) {
        if (k != "domain" && k != "template") {
          return fail("defaultHostname." + k + ": unknown key (expected domain, template)");
        }
        if (!v.is_string()) return fail("defaultHostname." + k + ": expected a string");
      }
      c.hostname_domain = value.value("domain", "");
      c.hostname_template = value.value("template", c.hostname_template);
      if (c.hostname_template.find("{route}") == std::string::npos) {
        return fail("defaultHostname.template: must contain {route}");
      }
    } else if (key == "failOpenUntilSynced") {
      if (!value.is_boolean()) return fail("failOpenUntilSynced: expected true or false");
      c.fail_open_until_synced = value.get<bool>();
    } else {
      return fail(key + ": unknown key (expected rules, productionNamespaces, defaultHostname, "
                        "failOpenUntilSynced)");
    }
  }
  return c;
}

Result<Config> Config::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{path + ": cannot read config file"};
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_yaml(ss.str(), path);
}

Action Config::action_for(std::string_view rule_id, Action default_action) const {
  auto it = actions.find(rule_id);
  return it == actions.end() ? default_action : it->second;
}

const json& Config::options_for(std::string_view rule_id) const {
  static const json kEmpty = json::object();
  auto it = options.find(rule_id);
  return it == options.end() ? kEmpty : it->second;
}

}  // namespace latticeguard
