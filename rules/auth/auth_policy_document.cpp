// AUTH-02: an IAMAuthPolicy document Lattice will reject, or one that lets anybody in.
#include <algorithm>

#include "rules/core/lattice.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kIAMAuthPolicy};
constexpr Kind kReads[] = {kNamespace};
constexpr std::string_view kPointer = "/spec/policy";
constexpr size_t kMaxBytes = 10240;  // Lattice quota: auth policy size 10 KB, not adjustable

// Collects nothing; keeps the position and reason of the first syntax error.
class ErrorSax : public nlohmann::json_sax<json> {
 public:
  std::string where;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    // "[json.exception.parse_error.101] parse error at line 9, column 7: syntax error while
    // parsing object key - unexpected '}'; expected string literal" -> "line 9, column 7: ..."
    std::string_view w = e.what();
    size_t at = w.find(" at ");
    size_t colon = w.find(": ", at == std::string_view::npos ? 0 : at);
    size_t dash = w.rfind(" - ");
    if (at != std::string_view::npos && colon != std::string_view::npos) {
      where = std::string(w.substr(at + 4, colon - at - 4));
      if (dash != std::string_view::npos && dash > colon)
        where += ": " + std::string(w.substr(dash + 3));
    }
    return false;
  }
};

bool is_any(const json& j, std::initializer_list<std::string_view> values) {
  auto one = [&](const json& x) {
    return x.is_string() &&
           std::find(values.begin(), values.end(), x.get_ref<const std::string&>()) != values.end();
  };
  if (j.is_array()) return std::any_of(j.begin(), j.end(), one);
  return one(j);
}

// Allow + any principal + invoke + no Condition: every signed caller in the network gets in.
bool open_statement(const json& s) {
  if (!s.is_object() || str(s, "Effect") != "Allow" || child(s, "Condition")) return false;
  const json* principal = child(s, "Principal");
  const json* action = child(s, "Action");
  if (!principal || !action) return false;
  const json* aws = principal->is_object() ? child(*principal, "AWS") : nullptr;
  bool anyone = is_any(*principal, {"*"}) || (aws && is_any(*aws, {"*"}));
  return anyone && is_any(*action, {"*", "vpc-lattice-svcs:Invoke", "vpc-lattice-svcs:*"});
}

void check(const Object& policy, RuleContext& ctx) {
  const json* spec = child(policy.doc(), "spec");
  const json* doc = spec ? child(*spec, "policy") : nullptr;
  const std::string ptr(kPointer);
  if (!doc) {
    ctx.report(spec ? ptr : "/spec", "IAMAuthPolicy has no policy document");
    return;
  }
  if (!doc->is_string()) {
    ctx.report(ptr, "must be the IAM policy JSON as a string (use a YAML block scalar |)");
    return;
  }
  const std::string& text = doc->get_ref<const std::string&>();
  if (text.size() > kMaxBytes) {
    ctx.report(ptr, "policy is " + std::to_string(text.size()) +
                        " bytes; VPC Lattice limits auth policies to 10 KB (10240 bytes)");
    return;
  }
  json parsed = json::parse(text, nullptr, false);
  if (parsed.is_discarded()) {
    ErrorSax sax;
    json::sax_parse(text, &sax);
    ctx.report(ptr, "policy is not valid JSON" + (sax.where.empty() ? "" : " (" + sax.where + ")"));
    return;
  }
  const json* statements = child(parsed, "Statement");
  if (!statements || !(statements->is_array() || statements->is_object())) {
    ctx.report(ptr, "policy must be a JSON object with a Statement list");
    return;
  }
  if (is_production(ctx.cluster(), policy.ns(), ctx.config()) != Tri::kYes) return;
  json list = statements->is_array() ? *statements : json::array({*statements});
  for (size_t i = 0; i < list.size(); ++i) {
    if (!open_statement(list[i])) continue;
    ctx.report(ptr,
               "statement " + std::to_string(i) +
                   " allows any principal to invoke without a Condition in a production namespace",
               Level::kWarn);
  }
}

}  // namespace

extern constinit const Rule kAuthPolicyDocument{
    .id = "auth-policy-document",
    .catalogue = "AUTH-02",
    .group = "auth",
    .summary = "An IAMAuthPolicy document is not valid JSON, too large, or open to any principal",
    .remediation =
        "Write spec.policy as a JSON IAM policy with a Statement list, at most 10 KB; "
        "in production limit Principal or add a Condition",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = kReads,
    .check = check,
};

}  // namespace latticeguard
