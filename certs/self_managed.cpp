#include "certs/self_managed.h"

#include <string>

#include "rules/core/base64.h"

namespace latticeguard::certs {
namespace {

using nlohmann::json;

Result<std::string> data_field(const json& data, std::string_view key) {
  auto it = data.find(std::string(key));
  if (it == data.end() || !it->is_string()) {
    return Error{"Secret has no data." + std::string(key)};
  }
  Result<std::string> decoded = base64_decode(it->get<std::string>());
  if (!decoded) return Error{"Secret data." + std::string(key) + ": " + decoded.error().message};
  return decoded;
}

}  // namespace

json secret_json(std::string_view name, std::string_view ns, const CertBundle& bundle,
                 std::string_view resource_version) {
  json secret = {
      {"apiVersion", "v1"},
      {"kind", "Secret"},
      {"metadata",
       {{"name", name},
        {"namespace", ns},
        {"labels",
         {{"app.kubernetes.io/name", "latticeguard"},
          {"app.kubernetes.io/component", "webhook-certificates"}}}}},
      {"type", "Opaque"},
      {"data",
       {{kSecretCaCert, base64_encode(bundle.trust_pem)},
        {kSecretCaKey, base64_encode(bundle.ca.key_pem)},
        {kSecretTlsCert, base64_encode(bundle.leaf.cert_pem)},
        {kSecretTlsKey, base64_encode(bundle.leaf.key_pem)}}},
  };
  if (!resource_version.empty()) secret["metadata"]["resourceVersion"] = resource_version;
  return secret;
}

bool secret_has_bundle(const json& secret) {
  auto data = secret.find("data");
  return data != secret.end() && data->is_object() && data->contains(kSecretTlsCert);
}

Result<CertBundle> bundle_from_secret(const json& secret) {
  auto data = secret.find("data");
  if (data == secret.end() || !data->is_object()) return Error{"Secret has no data"};
  Result<std::string> trust = data_field(*data, kSecretCaCert);
  if (!trust) return trust.error();
  Result<std::string> ca_key = data_field(*data, kSecretCaKey);
  if (!ca_key) return ca_key.error();
  Result<std::string> tls_cert = data_field(*data, kSecretTlsCert);
  if (!tls_cert) return tls_cert.error();
  Result<std::string> tls_key = data_field(*data, kSecretTlsKey);
  if (!tls_key) return tls_key.error();
  Result<std::vector<std::string>> cas = split_pem_bundle(*trust);
  if (!cas) return Error{"Secret data.ca.crt: " + cas.error().message};
  CertBundle b{KeyPair{cas->front(), std::move(*ca_key)},
               KeyPair{std::move(*tls_cert), std::move(*tls_key)}, std::move(*trust)};
  if (Status s = check_key_pair(b.ca); !s) return Error{"Secret CA: " + s.error().message};
  if (Status s = check_key_pair(b.leaf); !s) return Error{"Secret TLS: " + s.error().message};
  return b;
}

json ca_bundle_patch(const json& config, std::string_view trust_pem) {
  json ops = json::array();
  auto webhooks = config.find("webhooks");
  if (webhooks == config.end() || !webhooks->is_array()) return ops;
  const std::string encoded = base64_encode(trust_pem);
  for (size_t i = 0; i < webhooks->size(); ++i) {
    const json& hook = (*webhooks)[i];
    const json* current = nullptr;
    if (auto cc = hook.find("clientConfig"); cc != hook.end() && cc->is_object()) {
      if (auto cb = cc->find("caBundle"); cb != cc->end()) current = &*cb;
    }
    if (current && current->is_string() && current->get<std::string>() == encoded) continue;
    const std::string base = "/webhooks/" + std::to_string(i);
    ops.push_back({{"op", "test"}, {"path", base + "/name"}, {"value", hook.value("name", "")}});
    // `add` on an existing member replaces it (RFC 6902 4.1), so one op covers both cases.
    ops.push_back({{"op", "add"}, {"path", base + "/clientConfig/caBundle"}, {"value", encoded}});
  }
  return ops;
}

bool ca_bundle_published(const json& config, std::string_view trust_pem) {
  return ca_bundle_patch(config, trust_pem).empty();
}

}  // namespace latticeguard::certs
