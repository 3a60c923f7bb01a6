// The Kubernetes Status reason (metav1.StatusReason) for an HTTP status code, as the API server
// and admission webhooks put it in Status.reason: 404 -> "NotFound", 422 -> "Invalid".
//
//   std::string_view reason = http_status_reason(code);   // "" when Kubernetes names none
//
// Header-only so that libraries without the rule engine (kube, webhook) share it. Thread-safe.
#pragma once

#include <string_view>

namespace latticeguard {

inline std::string_view http_status_reason(int code) {
  switch (code) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 409:
      return "Conflict";
    case 410:
      return "Expired";  // what the API server says when a watch's resourceVersion is too old
    case 413:
      return "RequestEntityTooLarge";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return "";
  }
}

}  // namespace latticeguard
