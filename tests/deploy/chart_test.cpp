// The Helm chart, checked statically (no helm binary): values.yaml against values.schema.json
// with a JSON-schema subset validator, every .Values reference against values.yaml and the
// schema, every value used by a template, and the templates' structure.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "re2/re2.h"
#include "yaml_json.h"

namespace latticeguard::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const std::string kChart = std::string(LG_SOURCE_DIR) + "/charts/latticeguard";

// --- a JSON-schema subset: the keywords values.schema.json may use ----------------------------

const std::set<std::string> kKeywords = {
    "$schema",  "title", "description", "type",    "properties", "additionalProperties",
    "required", "enum",  "items",       "minimum", "maximum"};

bool has_type(const json& v, const std::string& t) {
  if (t == "object") return v.is_object();
  if (t == "array") return v.is_array();
  if (t == "string") return v.is_string();
  if (t == "integer") return v.is_number_integer();
  if (t == "number") return v.is_number();
  if (t == "boolean") return v.is_boolean();
  if (t == "null") return v.is_null();
  return false;
}

void validate(const json& v, const json& schema, const std::string& path,
              std::vector<std::string>& errors) {
  if (!schema.is_object()) return;
  for (const auto& [k, _] : schema.items()) {
    if (!kKeywords.count(k)) errors.push_back(path + ": unsupported schema keyword " + k);
  }
  if (auto t = schema.find("type"); t != schema.end()) {
    bool ok = false;
    for (const json& one : t->is_array() ? *t : json::array({*t})) ok = ok || has_type(v, one);
    if (!ok) {
      errors.push_back(path + ": expected type " + t->dump());
      return;
    }
  }
  if (auto e = schema.find("enum"); e != schema.end()) {
    bool ok = false;
    for (const json& one : *e) ok = ok || one == v;
    if (!ok) errors.push_back(path + ": " + v.dump() + " not in " + e->dump());
  }
  if (v.is_number()) {
    if (schema.contains("minimum") && v.get<double>() < schema["minimum"].get<double>()) {
      errors.push_back(path + ": below minimum");
    }
    if (schema.contains("maximum") && v.get<double>() > schema["maximum"].get<double>()) {
      errors.push_back(path + ": above maximum");
    }
  }
  if (v.is_array() && schema.contains("items")) {
    for (size_t i = 0; i < v.size(); ++i) {
      validate(v[i], schema["items"], path + "[" + std::to_string(i) + "]", errors);
    }
  }
  if (v.is_object()) {
    for (const json& r : schema.value("required", json::array())) {
      if (!v.contains(r.get<std::string>())) errors.push_back(path + ": missing " + r.dump());
    }
    const json props = schema.value("properties", json::object());
    const json extra = schema.value("additionalProperties", json(true));
    for (const auto& [k, child] : v.items()) {
      const std::string p = path + "." + k;
      if (props.contains(k)) {
        validate(child, props[k], p, errors);
      } else if (extra == false) {
        errors.push_back(p + ": unknown key");
      } else if (extra.is_object()) {
        validate(child, extra, p, errors);
      }
    }
  }
}

std::vector<std::string> errors_of(const json& values, const json& schema) {
  std::vector<std::string> errors;
  validate(values, schema, "values", errors);
  return errors;
}

// --- chart files ------------------------------------------------------------------------------

struct Chart {
  json values;
  json schema;
  std::map<std::string, std::string> templates;  // relative path -> text
};

const Chart& chart() {
  static const Chart* c = [] {
    auto* out = new Chart;
    Result<std::vector<json>> v = yaml_documents(read_text(kChart + "/values.yaml"));
    if (v && v->size() == 1) out->values = v->front();
    out->schema = json::parse(read_text(kChart + "/values.schema.json"), nullptr, false);
    for (const auto& e : fs::recursive_directory_iterator(kChart + "/templates")) {
      if (e.is_regular_file()) {
        out->templates[fs::relative(e.path(), kChart + "/templates").string()] =
            read_text(e.path().string());
      }
    }
    return out;
  }();
  return *c;
}

std::vector<std::string> split(const std::string& dotted) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t dot; (dot = dotted.find('.', start)) != std::string::npos; start = dot + 1) {
    out.push_back(dotted.substr(start, dot - start));
  }
  out.push_back(dotted.substr(start));
  return out;
}

// Every `.Values.a.b` in the templates, with the files that use it.
std::map<std::string, std::set<std::string>> value_references() {
  static const RE2 kRef(R"(\.Values\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*))");
  std::map<std::string, std::set<std::string>> refs;
  for (const auto& [file, text] : chart().templates) {
    re2::StringPiece in(text);
    std::string ref;
    while (RE2::FindAndConsume(&in, kRef, &ref)) refs[ref].insert(file);
  }
  return refs;
}

void leaves(const json& v, const std::string& path, std::vector<std::string>& out) {
  if (v.is_object() && !v.empty()) {
    for (const auto& [k, child] : v.items()) leaves(child, path.empty() ? k : path + "." + k, out);
  } else {
    out.push_back(path);
  }
}

bool is_prefix(const std::string& ref, const std::string& leaf) {
  return leaf == ref || leaf.starts_with(ref + ".");
}

// --- tests ------------------------------------------------------------------------------------

TEST(Chart, FilesParse) {
  ASSERT_TRUE(chart().values.is_object()) << "values.yaml";
  ASSERT_FALSE(chart().schema.is_discarded()) << "values.schema.json";
  Result<std::vector<json>> meta = yaml_documents(read_text(kChart + "/Chart.yaml"));
  ASSERT_TRUE(meta && meta->size() == 1);
  const json& m = meta->front();
  EXPECT_EQ(m["apiVersion"], "v2");
  EXPECT_EQ(m["name"], "latticeguard");
  EXPECT_TRUE(m["version"].is_string() && m["appVersion"].is_string());
  for (const char* t :
       {"_helpers.tpl", "NOTES.txt", "deployment.yaml", "service.yaml", "serviceaccount.yaml",
        "rbac.yaml", "configmap.yaml", "validatingwebhookconfiguration.yaml",
        "mutatingwebhookconfiguration.yaml", "certificate.yaml", "poddisruptionbudget.yaml",
        "servicemonitor.yaml", "tests/webhook-health.yaml"}) {
    EXPECT_TRUE(chart().templates.count(t)) << t;
  }
}

TEST(Chart, ValuesValidateAgainstSchema) {
  std::vector<std::string> errors = errors_of(chart().values, chart().schema);
  EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(errors);
}

TEST(Chart, SchemaRejectsTyposAndBadValues) {
  const json& good = chart().values;
  auto broken = [&](const std::string& pointer, const json& value) {
    json v = good;
    v[json::json_pointer(pointer)] = value;
    return !errors_of(v, chart().schema).empty();
  };
  EXPECT_TRUE(broken("/replicaCont", 2));                              // typo at the top
  EXPECT_TRUE(broken("/webhook/failurPolicy", "Fail"));                // typo nested
  EXPECT_TRUE(broken("/webhook/failurePolicy", "Deny"));               // enum
  EXPECT_TRUE(broken("/certificates/mode", "vault"));                  // enum
  EXPECT_TRUE(broken("/config/rules/backendref-not-found", "block"));  // action enum
  EXPECT_TRUE(broken("/webhook/timeoutSeconds", 31));                  // maximum
  EXPECT_TRUE(broken("/replicaCount", 0));                             // minimum
  EXPECT_TRUE(broken("/replicaCount", "2"));                           // type
  EXPECT_TRUE(broken("/resources/requests/gpu", 1));                   // strict nested object
  EXPECT_TRUE(broken("/tolerations", json::array({{{"key", "a"}, {"opertor", "Exists"}}})));
  EXPECT_FALSE(broken("/config/rules/backendref-not-found", "warn"));
  EXPECT_FALSE(broken("/certificates/mode", "certManager"));
  json missing = good;
  missing.erase("webhook");
  EXPECT_FALSE(errors_of(missing, chart().schema).empty());
}

TEST(Chart, SchemaIsStrictEverywhere) {
  std::vector<std::string> loose;
  std::function<void(const json&, const std::string&)> walk = [&](const json& s,
                                                                  const std::string& path) {
    if (!s.is_object()) return;
    if (s.value("type", json()) == "object" && !s.contains("additionalProperties")) {
      loose.push_back(path);
    }
    const json props = s.value("properties", json::object());
    for (const auto& [k, child] : props.items()) {
      walk(child, path + "." + k);
    }
    if (s.contains("items")) walk(s["items"], path + "[]");
    if (s.contains("additionalProperties")) walk(s["additionalProperties"], path + ".*");
  };
  walk(chart().schema, "values");
  EXPECT_TRUE(loose.empty()) << ::testing::PrintToString(loose);
}

TEST(Chart, EveryValueReferenceExistsInValuesAndSchema) {
  auto refs = value_references();
  ASSERT_GT(refs.size(), 20u);
  for (const auto& [ref, files] : refs) {
    const json* v = &chart().values;
    const json* s = &chart().schema;
    for (const std::string& seg : split(ref)) {
      v = (v && v->is_object() && v->contains(seg)) ? &(*v)[seg] : nullptr;
      const json props = s ? s->value("properties", json::object()) : json::object();
      s = (s && props.contains(seg)) ? &(*s)["properties"][seg] : nullptr;
    }
    EXPECT_NE(v, nullptr) << ".Values." << ref << " (in " << *files.begin()
                          << ") not in values.yaml";
    EXPECT_NE(s, nullptr) << ".Values." << ref << " (in " << *files.begin() << ") not in schema";
  }
}

TEST(Chart, EveryValueIsUsedByATemplate) {
  std::vector<std::string> all;
  leaves(chart().values, "", all);
  auto refs = value_references();
  for (const std::string& leaf : all) {
    bool used = false;
    for (const auto& [ref, _] : refs) used = used || is_prefix(ref, leaf);
    EXPECT_TRUE(used) << leaf << " is in values.yaml but no template uses it";
  }
}

TEST(Chart, EveryValuesKeyIsCommented) {
  // A key needs a comment block right above it, unless an ancestor's comment block starts with
  // "# --" and the key has none (a pass-through block such as resources, documented as a whole).
  static const RE2 kKey(R"(^( *)([A-Za-z][A-Za-z0-9_.-]*):)");
  const std::string text = read_text(kChart + "/values.yaml");
  std::vector<std::pair<size_t, bool>> stack;  // (indent, documented as a whole)
  bool prev_comment = false;
  std::string block_first;  // first line of the comment block just above
  int line_no = 0;
  for (const std::string& line : split_lines(text)) {
    ++line_no;
    const size_t first = line.find_first_not_of(' ');
    if (first == std::string::npos) continue;
    const bool comment = line[first] == '#';
    if (comment && !prev_comment) block_first = line.substr(first);
    std::string indent, key;
    if (!comment && RE2::PartialMatch(line, kKey, &indent, &key)) {
      while (!stack.empty() && stack.back().first >= indent.size()) stack.pop_back();
      bool covered = false;
      for (const auto& [_, whole] : stack) covered = covered || whole;
      EXPECT_TRUE(prev_comment || covered)
          << "values.yaml:" << line_no << ": " << key << " has no comment";
      stack.push_back({indent.size(), prev_comment && block_first.starts_with("# --")});
    }
    prev_comment = comment;
  }
  EXPECT_GT(line_no, 100);
}

TEST(Chart, IncludesAreDefinedAndBlocksBalanced) {
  static const RE2 kDefine(R"re(define "([^"]+)")re");
  static const RE2 kInclude(R"re((?:include|template) "([^"]+)")re");
  static const RE2 kOpen(R"(\{\{-?\s*(?:if|range|with|define)\b)");
  static const RE2 kEnd(R"(\{\{-?\s*end\b)");
  std::set<std::string> defined;
  for (const auto& [file, text] : chart().templates) {
    re2::StringPiece in(text);
    std::string name;
    while (RE2::FindAndConsume(&in, kDefine, &name)) defined.insert(name);
  }
  for (const auto& [file, text] : chart().templates) {
    re2::StringPiece in(text);
    std::string name;
    while (RE2::FindAndConsume(&in, kInclude, &name)) {
      EXPECT_TRUE(defined.count(name)) << file << ": include of undefined " << name;
    }
    int opens = 0, ends = 0;
    re2::StringPiece a(text), b(text);
    while (RE2::FindAndConsume(&a, kOpen)) ++opens;
    while (RE2::FindAndConsume(&b, kEnd)) ++ends;
    EXPECT_EQ(opens, ends) << file;
  }
}

TEST(Chart, WebhooksShareSafeSettingsAndExemptions) {
  const auto& t = chart().templates;
  const std::string& helpers = t.at("_helpers.tpl");
  for (const char* must :
       {"matchPolicy: Equivalent", "sideEffects: None", "admissionReviewVersions: [v1]",
        "concat (list \"kube-system\" .Release.Namespace)",
        "cert-manager.io/inject-ca-from: {{ .Release.Namespace }}/"}) {
    EXPECT_NE(helpers.find(must), std::string::npos) << must;
  }
  static const RE2 kHook(R"(\n  - name: )");
  for (const char* file :
       {"validatingwebhookconfiguration.yaml", "mutatingwebhookconfiguration.yaml"}) {
    const std::string& text = t.at(file);
    re2::StringPiece in(text);
    int hooks = 0;
    while (RE2::FindAndConsume(&in, kHook)) ++hooks;
    size_t common = 0;
    for (size_t p = 0;
         (p = text.find("include \"latticeguard.webhookCommon\"", p)) != std::string::npos; ++p) {
      ++common;
    }
    EXPECT_GT(hooks, 0) << file;
    EXPECT_EQ(common, static_cast<size_t>(hooks))
        << file << ": every webhook uses the shared settings";
    EXPECT_NE(text.find("include \"latticeguard.webhookAnnotations\""), std::string::npos) << file;
    EXPECT_NE(text.find("failurePolicy"), std::string::npos) << file;
  }
  EXPECT_NE(t.at("validatingwebhookconfiguration.yaml").find("if .Values.workloadRule.enabled"),
            std::string::npos);
}

// The same kinds are intercepted as by the plain manifests (plus the opt-in workload block).
std::set<std::string> resource_lists(const std::string& text, bool skip_comments) {
  std::string flat;
  for (std::string line : split_lines(text)) {
    const size_t first = line.find_first_not_of(' ');
    if (first == std::string::npos) continue;
    if (line[first] == '#') {
      const size_t body = line.find_first_not_of("# ", first);
      if (skip_comments || body == std::string::npos) continue;
      line = line.substr(body);
    }
    flat += line.substr(line.find_first_not_of(' ')) + " ";
  }
  std::set<std::string> out;
  static const RE2 kList(R"(resources: \[([^\]]*)\])");
  re2::StringPiece in(flat);
  std::string items;
  while (RE2::FindAndConsume(&in, kList, &items)) {
    std::string norm;
    for (char c : items) {
      if (c != ' ') norm += c;
    }
    out.insert(norm);
  }
  return out;
}

TEST(Chart, InterceptsTheSameKindsAsTheManifests) {
  const std::string manifests = std::string(LG_SOURCE_DIR) + "/manifests/";
  for (const char* file :
       {"validatingwebhookconfiguration.yaml", "mutatingwebhookconfiguration.yaml"}) {
    const std::string plain = read_text(manifests + file);
    EXPECT_EQ(resource_lists(chart().templates.at(file), true), resource_lists(plain, false))
        << file;
  }
  EXPECT_EQ(resource_lists(chart().templates.at("rbac.yaml"), true),
            resource_lists(read_text(manifests + "rbac.yaml"), true));
}

TEST(Chart, NotesExplainHowToCheckItWorks) {
  const std::string& notes = chart().templates.at("NOTES.txt");
  EXPECT_NE(notes.find("kubectl apply --dry-run=server -f manifests/examples/broken/"),
            std::string::npos);
  EXPECT_NE(notes.find("helm test"), std::string::npos);
  const std::string& test_pod = chart().templates.at("tests/webhook-health.yaml");
  EXPECT_NE(test_pod.find("helm.sh/hook: test"), std::string::npos);
  EXPECT_NE(test_pod.find("/healthz"), std::string::npos);
  EXPECT_EQ(test_pod.find("--insecure"), std::string::npos);  // the CA is verified
}

TEST(Chart, CertificateModesAreExclusive) {
  const auto& t = chart().templates;
  EXPECT_EQ(t.at("certificate.yaml").find("{{- if eq .Values.certificates.mode \"certManager\" }}"),
            0u);
  EXPECT_EQ(t.at("secret.yaml").find("{{- if eq .Values.certificates.mode \"selfManaged\" }}"), 0u);
  const std::string& dep = t.at("deployment.yaml");
  EXPECT_NE(dep.find("- --self-signed-certs"), std::string::npos);
  EXPECT_NE(dep.find("secretName: {{ include \"latticeguard.tlsSecretName\" . }}"),
            std::string::npos);
}

}  // namespace
}  // namespace latticeguard::testing
