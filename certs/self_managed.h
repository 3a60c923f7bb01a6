// Self-managed certificates (`serve --self-signed-certs`): the pure parts of keeping the CA and
// serving certificate in a Secret and publishing the trust bundle as the webhooks' caBundle.
// The caller does the HTTP; this file only builds and reads JSON.
//
//   GET Secret -> bundle_from_secret()   (empty or absent: make_bundle(), then PUT secret_json())
//   plan_rotation()/rotate()             (changed: PUT secret_json() with the read resourceVersion)
//   GET each webhook configuration -> ca_bundle_patch() -> PATCH (application/json-patch+json)
//   write_cert_files(tls dir, bundle, /*force=*/true) -> the server's reloader picks them up
//
// Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "certs/rotation.h"
#include "rules/core/result.h"

namespace latticeguard::certs {

// Secret data keys. ca.crt is the trust bundle (signing CA first), as cert-manager names it.
inline constexpr std::string_view kSecretCaCert = "ca.crt";
inline constexpr std::string_view kSecretCaKey = "ca.key";
inline constexpr std::string_view kSecretTlsCert = "tls.crt";
inline constexpr std::string_view kSecretTlsKey = "tls.key";

// An Opaque Secret holding the bundle. The install manifests create the Secret empty (so RBAC
// needs no `create`); `resource_version`, when given, makes the PUT a compare-and-swap.
nlohmann::json secret_json(std::string_view name, std::string_view ns, const CertBundle& bundle,
                           std::string_view resource_version = "");

// Whether the Secret holds a bundle yet (the pre-created Secret has no data).
bool secret_has_bundle(const nlohmann::json& secret);

// Reads a bundle back; an error when a key is missing or does not match its certificate.
Result<CertBundle> bundle_from_secret(const nlohmann::json& secret);

// JSON Patch (RFC 6902) setting clientConfig.caBundle on every webhook of a Validating- or
// MutatingWebhookConfiguration, given its current JSON. Each `add` is guarded by a `test` of the
// webhook's name, so a concurrent reorder fails the patch instead of mislabelling a webhook.
// Empty array when every webhook already carries the bundle (nothing to send).
nlohmann::json ca_bundle_patch(const nlohmann::json& webhook_configuration,
                               std::string_view trust_pem);

// True when every webhook of the configuration already carries `trust_pem`: the caller's
// `trust_published` for plan_rotation().
bool ca_bundle_published(const nlohmann::json& webhook_configuration, std::string_view trust_pem);

}  // namespace latticeguard::certs
