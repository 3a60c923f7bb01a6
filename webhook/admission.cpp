#include "webhook/admission.h"

#include <array>
#include <optional>
#include <utility>

#include "rules/core/base64.h"
#include "rules/core/http_status.h"
#include "rules/core/json_reader.h"

namespace latticeguard::webhook {
namespace {

using nlohmann::json;

constexpr std::string_view kReviewApiVersion = "admission.k8s.io/v1";
constexpr std::string_view kReviewKind = "AdmissionReview";

// Deepest [ / { nesting outside strings, stopping early once over `limit`. Malformed input is left
// for the parser to reject; this only has to be right for the bytes the parser would accept.
bool nesting_within(std::string_view s, std::size_t limit) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > limit) {
          return false;
        }
        break;
      case ']':
      case '}':
        if (depth > 0) {
          --depth;
        }
        break;
      default:
        break;
    }
  }
  return true;
}

Error field_error(std::string_view field, std::string_view what) {
  return Error{"request." + std::string(field) + " " + std::string(what)};
}

// Reads an optional string member. Absent or null leaves `out` empty.
bool optional_string(const json& obj, std::string_view key, std::string& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    return true;
  }
  if (!it->is_string()) {
    return false;
  }
  out = it->get<std::string>();
  return true;
}

std::optional<Operation> parse_operation(std::string_view s) {
  if (s == "CREATE") return Operation::kCreate;
  if (s == "UPDATE") return Operation::kUpdate;
  if (s == "DELETE") return Operation::kDelete;
  if (s == "CONNECT") return Operation::kConnect;
  return std::nullopt;
}

// Builds the review's DOM as nlohmann's own parser does, except that it never builds
// metadata.managedFields of request.object and request.oldObject. The API server sends them on
// every request, they are a quarter to a third of a typical object, and no rule reads them (the
// watch cache drops them too); parsing is the largest single cost of a review.
class ReviewSax {
 public:
  using DomParser = nlohmann::detail::json_sax_dom_parser<json>;
  explicit ReviewSax(json& root) : dom_(root, /*allow_exceptions=*/false) {}

  bool null() { return skipping_ ? skip_scalar() : (value(), dom_.null()); }
  bool boolean(bool v) { return skipping_ ? skip_scalar() : (value(), dom_.boolean(v)); }
  bool number_integer(json::number_integer_t v) {
    return skipping_ ? skip_scalar() : (value(), dom_.number_integer(v));
  }
  bool number_unsigned(json::number_unsigned_t v) {
    return skipping_ ? skip_scalar() : (value(), dom_.number_unsigned(v));
  }
  bool number_float(json::number_float_t v, const json::string_t& s) {
    return skipping_ ? skip_scalar() : (value(), dom_.number_float(v, s));
  }
  bool string(json::string_t& v) { return skipping_ ? skip_scalar() : (value(), dom_.string(v)); }
  bool binary(json::binary_t& v) { return skipping_ ? skip_scalar() : (value(), dom_.binary(v)); }
  bool start_object(std::size_t n) {
    if (skipping_) return ++skip_depth_, true;
    open(on_path_next_);
    return dom_.start_object(n);
  }
  bool start_array(std::size_t n) {
    if (skipping_) return ++skip_depth_, true;
    open(false);
    return dom_.start_array(n);
  }
  bool end_object() { return skipping_ ? skip_end() : (close(), dom_.end_object()); }
  bool end_array() { return skipping_ ? skip_end() : (close(), dom_.end_array()); }
  bool key(json::string_t& k) {
    if (skipping_) return true;
    on_path_next_ = false;
    // depth_ counts open containers: the review is 1, request 2, object 3, metadata 4.
    if (depth_ < kPath.size() + 1 && on_path_[depth_ - 1]) {
      const std::size_t i = depth_ - 1;
      const bool match = k == kPath[i] || (i == 1 && k == "oldObject");
      if (match && i + 1 == kPath.size()) {
        skipping_ = true;  // the value of managedFields: not built, key not added
        skip_depth_ = 0;
        return true;
      }
      on_path_next_ = match;
    }
    return dom_.key(k);
  }
  bool parse_error(std::size_t pos, const std::string& token,
                   const nlohmann::detail::exception& e) {
    return dom_.parse_error(pos, token, e);
  }

 private:
  static constexpr std::array<std::string_view, 4> kPath = {"request", "object", "metadata",
                                                            "managedFields"};
  void value() { on_path_next_ = false; }
  void open(bool on_path) {
    if (depth_ < on_path_.size()) on_path_[depth_] = on_path || depth_ == 0;
    ++depth_;
    on_path_next_ = false;
  }
  void close() {
    --depth_;
    on_path_next_ = false;
  }
  bool skip_scalar() {
    if (skip_depth_ == 0) skipping_ = false;
    return true;
  }
  bool skip_end() {
    if (--skip_depth_ == 0) skipping_ = false;
    return true;
  }

  DomParser dom_;
  std::size_t depth_ = 0;
  // Whether the open container at each depth lies on kPath, and whether the next value does.
  std::array<bool, kPath.size()> on_path_{};
  bool on_path_next_ = false;
  bool skipping_ = false;
  std::size_t skip_depth_ = 0;
};

// Invalid UTF-8 inside strings (possible in a message echoing user input) must not make dump()
// throw on the request path.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

std::string_view to_string(Operation op) {
  switch (op) {
    case Operation::kCreate:
      return "CREATE";
    case Operation::kUpdate:
      return "UPDATE";
    case Operation::kDelete:
      return "DELETE";
    case Operation::kConnect:
      return "CONNECT";
  }
  return "UNKNOWN";
}

std::string_view status_reason(int code) {
  std::string_view reason = http_status_reason(code);
  // The API server reports any failure of ours it has no name for as an internal error.
  return reason.empty() && code >= 500 ? "InternalError" : reason;
}

AdmissionResponse allowed() { return AdmissionResponse{}; }

AdmissionResponse denied(std::string message, std::vector<std::string> warnings) {
  AdmissionResponse r;
  r.allowed = false;
  r.code = 403;
  r.reason = "Forbidden";
  r.message = std::move(message);
  r.warnings = std::move(warnings);
  return r;
}

AdmissionResponse errored(int code, std::string message) {
  AdmissionResponse r;
  r.allowed = false;
  r.code = code;
  r.reason = std::string(status_reason(code));
  r.message = std::move(message);
  return r;
}

AdmissionResponse patched(nlohmann::json patch_ops, std::vector<std::string> warnings) {
  AdmissionResponse r;
  r.patch = std::move(patch_ops);
  r.warnings = std::move(warnings);
  return r;
}

Result<AdmissionRequest> parse_review(std::string_view body) {
  if (body.empty()) {
    return Error{"empty body"};
  }
  if (!nesting_within(body, kMaxNestingDepth)) {
    return Error{"JSON nested deeper than " + std::to_string(kMaxNestingDepth) + " levels"};
  }
  json doc;
  if (ReadResult read = sax_read<ReviewSax>(body, doc); !read) {
    return Error{"invalid JSON" + at_byte(read)};
  }
  if (!doc.is_object()) {
    return Error{"body is not a JSON object"};
  }
  auto api_version = doc.find("apiVersion");
  auto kind = doc.find("kind");
  if (api_version == doc.end() || !api_version->is_string() || *api_version != kReviewApiVersion ||
      kind == doc.end() || !kind->is_string() || *kind != kReviewKind) {
    return Error{"not an admission.k8s.io/v1 AdmissionReview"};
  }
  auto request = doc.find("request");
  if (request == doc.end() || request->is_null()) {
    return Error{"missing request"};
  }
  if (!request->is_object()) {
    return Error{"request is not an object"};
  }
  json& r = *request;

  AdmissionRequest out;
  out.review_api_version = std::string(kReviewApiVersion);
  auto uid = r.find("uid");
  if (uid == r.end() || !uid->is_string() || uid->get_ref<const std::string&>().empty()) {
    return field_error("uid", "is missing or not a non-empty string");
  }
  out.uid = uid->get<std::string>();

  auto op = r.find("operation");
  if (op == r.end() || !op->is_string()) {
    return field_error("operation", "is missing or not a string");
  }
  auto parsed_op = parse_operation(op->get_ref<const std::string&>());
  if (!parsed_op) {
    return field_error("operation", "is not CREATE, UPDATE, DELETE or CONNECT");
  }
  out.operation = *parsed_op;

  auto gvk = r.find("kind");
  if (gvk == r.end() || !gvk->is_object()) {
    return field_error("kind", "is missing or not an object");
  }
  if (!optional_string(*gvk, "group", out.group) ||
      !optional_string(*gvk, "version", out.version) || !optional_string(*gvk, "kind", out.kind) ||
      out.kind.empty()) {
    return field_error("kind", "needs string group, version and a non-empty kind");
  }
  if (auto gvr = r.find("resource"); gvr != r.end() && !gvr->is_null()) {
    if (!gvr->is_object() || !optional_string(*gvr, "resource", out.resource)) {
      return field_error("resource", "is not a group/version/resource object");
    }
  }
  if (!optional_string(r, "subResource", out.sub_resource)) {
    return field_error("subResource", "is not a string");
  }
  if (!optional_string(r, "namespace", out.ns)) {
    return field_error("namespace", "is not a string");
  }
  if (!optional_string(r, "name", out.name)) {
    return field_error("name", "is not a string");
  }
  if (auto user = r.find("userInfo"); user != r.end() && !user->is_null()) {
    if (!user->is_object() || !optional_string(*user, "username", out.username)) {
      return field_error("userInfo", "is not an object with a string username");
    }
  }
  if (auto dry = r.find("dryRun"); dry != r.end() && !dry->is_null()) {
    if (!dry->is_boolean()) {
      return field_error("dryRun", "is not a boolean");
    }
    out.dry_run = dry->get<bool>();
  }
  for (auto [key, dest] : {std::pair{"object", &out.object}, {"oldObject", &out.old_object}}) {
    auto it = r.find(key);
    if (it == r.end() || it->is_null()) {
      continue;
    }
    if (!it->is_object()) {
      return field_error(key, "is not a mapping");
    }
    *dest = std::move(*it);
  }
  return out;
}

std::string render_review(const AdmissionRequest& req, const AdmissionResponse& resp) {
  json response = {{"uid", req.uid}, {"allowed", resp.allowed}};
  if (!resp.allowed || !resp.message.empty()) {
    json status = {{"code", resp.code}};
    if (!resp.allowed) {
      status["status"] = "Failure";
    }
    if (!resp.reason.empty()) {
      status["reason"] = resp.reason;
    }
    if (!resp.message.empty()) {
      status["message"] = resp.message;
    }
    response["status"] = std::move(status);
  }
  if (!resp.warnings.empty()) {
    response["warnings"] = resp.warnings;
  }
  if (resp.allowed && resp.patch.is_array() && !resp.patch.empty()) {
    response["patchType"] = "JSONPatch";
    response["patch"] = base64_encode(dump(resp.patch));
  }
  const std::string& api_version =
      req.review_api_version.empty() ? std::string(kReviewApiVersion) : req.review_api_version;
  json review = {
      {"apiVersion", api_version}, {"kind", kReviewKind}, {"response", std::move(response)}};
  return dump(review);
}

std::string render_error_body(int code, std::string_view message) {
  json body = {{"apiVersion", "v1"},
               {"kind", "Status"},
               {"status", "Failure"},
               {"code", code},
               {"reason", status_reason(code)},
               {"message", message}};
  return dump(body);
}

}  // namespace latticeguard::webhook
