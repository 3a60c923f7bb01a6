// AdmissionReview (admission.k8s.io/v1) decoding and encoding: the only code that knows the wire
// format the API server speaks to a webhook.
//
//   Result<AdmissionRequest> req = parse_review(body);      // never throws
//   if (!req) return http_400(render_error_body(400, req.error().message));
//   AdmissionResponse resp = denied("HTTPRoute shop/cart: backendRef ...", {});
//   std::string reply = render_review(*req, resp);           // echoes uid and apiVersion
//
// Handlers build responses with the named constructors (allowed, denied, errored, patched) so every
// reply carries a consistent status; the uid is copied in render_review, never by a handler.
// All functions are pure and safe to call from any thread.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "rules/core/result.h"

namespace latticeguard::webhook {

enum class Operation { kCreate, kUpdate, kDelete, kConnect };

std::string_view to_string(Operation op);

// The fields of request we use. `object` is null on DELETE; `old_object` is null on CREATE.
// Both are as the API server sent them except metadata.managedFields, which no rule reads and
// parse_review does not build.
struct AdmissionRequest {
  std::string review_api_version;  // always "admission.k8s.io/v1" today; echoed back
  std::string uid;
  Operation operation = Operation::kCreate;
  std::string group;    // request.kind.group ("" for the core group)
  std::string version;  // request.kind.version
  std::string kind;     // request.kind.kind
  std::string resource;
  std::string sub_resource;
  std::string ns;  // empty for cluster-scoped objects
  std::string name;
  std::string username;
  bool dry_run = false;
  nlohmann::json object;      // mapping or null
  nlohmann::json old_object;  // mapping or null
};

// A rule that contributed to a decision, for the decision log line and findings_total.
struct RuleHit {
  std::string rule;    // rule id
  std::string action;  // deny | warn | audit
};

struct AdmissionResponse {
  bool allowed = true;
  int code = 200;
  std::string reason;   // metav1.Status reason, e.g. "Forbidden"
  std::string message;  // shown to the user by kubectl when denied
  std::vector<std::string> warnings;
  nlohmann::json patch;  // RFC 6902 array, or null for no patch
  // Not sent to the API server: which rules fired, for logs and metrics.
  std::vector<RuleHit> rule_hits;
};

AdmissionResponse allowed();
// 403 Forbidden. The API server shows `message` as "admission webhook ... denied the request: ...".
AdmissionResponse denied(std::string message, std::vector<std::string> warnings = {});
// A failure of the webhook itself (code 400 or 500); allowed=false.
AdmissionResponse errored(int code, std::string message);
AdmissionResponse patched(nlohmann::json patch_ops, std::vector<std::string> warnings = {});

// Bodies nested deeper than this are rejected before parsing: nlohmann's parser and destructor
// recurse once per level, and a Kubernetes object is never deeper than a few dozen levels.
inline constexpr std::size_t kMaxNestingDepth = 512;

// Decodes an AdmissionReview request. Never throws. Errors name the offending field.
Result<AdmissionRequest> parse_review(std::string_view body);

// Encodes the AdmissionReview response for `req`: same apiVersion, same uid.
std::string render_review(const AdmissionRequest& req, const AdmissionResponse& resp);

// A metav1.Status-shaped JSON body for HTTP errors (4xx/5xx) that have no review to answer.
std::string render_error_body(int code, std::string_view message);

// The metav1.Status reason for an HTTP code ("BadRequest", "Forbidden", "InternalError", ...).
std::string_view status_reason(int code);

}  // namespace latticeguard::webhook
