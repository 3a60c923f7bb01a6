// Certificate issuance and checks for the webhook's serving certificate: a private CA and an
// ECDSA P-256 leaf for the Service DNS names, as PEM strings.
//
//   Result<KeyPair> ca = make_ca("latticeguard-ca", 3650, now);
//   Result<KeyPair> leaf = issue_serving(*ca, service_dns_names("latticeguard", "ns"), {}, 365,
//   now); Status ok = verify_chain(leaf->cert_pem, ca->cert_pem, "latticeguard.ns.svc", now);
//
// Every time is passed in (`now`), so rotation is testable under a fake clock. Functions are pure
// (no files, no globals) and safe to call from any thread.
#pragma once

#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rules/core/result.h"

namespace latticeguard::certs {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;

struct KeyPair {
  std::string cert_pem;
  std::string key_pem;  // PKCS#8, unencrypted
};

struct Validity {
  TimePoint not_before;
  TimePoint not_after;
};

// `svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster.local`: every name the API server or a
// person may use to reach the Service.
std::vector<std::string> service_dns_names(std::string_view service, std::string_view ns);

// Self-signed CA: basicConstraints CA:TRUE (critical), keyUsage keyCertSign + cRLSign.
Result<KeyPair> make_ca(std::string_view common_name, int days, TimePoint now = Clock::now());

// Serving certificate signed by `ca`: ECDSA P-256, SANs = dns_names + ips, keyUsage
// digitalSignature + keyEncipherment, extendedKeyUsage serverAuth, CA:FALSE. The first DNS name
// (or IP) is the subject CN. Names must be RFC 1123 (wildcards allowed); IPs v4 or v6.
Result<KeyPair> issue_serving(const KeyPair& ca, std::span<const std::string> dns_names,
                              std::span<const std::string> ips, int days,
                              TimePoint now = Clock::now());

Result<Validity> validity(std::string_view cert_pem);
Result<TimePoint> expiry(std::string_view cert_pem);

// Verifies `leaf_pem` up to one of the CAs in `ca_bundle_pem` (X509_verify_cert, purpose
// sslserver) at time `now`, and that it is valid for `host_or_ip` (skipped when empty).
Status verify_chain(std::string_view leaf_pem, std::string_view ca_bundle_pem,
                    std::string_view host_or_ip, TimePoint now = Clock::now());

// Every certificate of a PEM bundle, in order, each re-encoded as PEM.
Result<std::vector<std::string>> split_pem_bundle(std::string_view bundle_pem);

// Checks that the key belongs to the certificate.
Status check_key_pair(const KeyPair& pair);

}  // namespace latticeguard::certs
