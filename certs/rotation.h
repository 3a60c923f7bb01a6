// Certificate rotation policy for self-managed mode, as pure functions of the current bundle and
// the time, so it runs the same under a fake clock in tests.
//
//   Result<CertBundle> b = make_bundle(spec, now);            // first start
//   Result<RotationPlan> plan = plan_rotation(*b, spec, now, trust_published);
//   if (plan->any()) b = rotate(*b, *plan, spec, now);        // then store + publish b->trust_pem
//
// CA rotation is two-phase so no client ever sees a leaf it cannot verify: phase one adds the new
// CA to the trust bundle (old + new) and keeps the old leaf; once that bundle is published as the
// webhooks' caBundle (`trust_published`), phase two re-issues the leaf from the new CA. The old CA
// leaves the bundle when it expires. Pure and thread-safe.
#pragma once

#include <string>
#include <vector>

#include "certs/issue.h"
#include "rules/core/result.h"

namespace latticeguard::certs {

struct IssueSpec {
  std::vector<std::string> dns_names;  // service_dns_names(...) + extra names
  std::vector<std::string> ips;
  int ca_days = 3650;
  int days = 365;
  std::string ca_common_name = "latticeguard-ca";
};

struct CertBundle {
  KeyPair ca;             // the signing CA
  KeyPair leaf;           // the serving certificate
  std::string trust_pem;  // what clients trust: ca.cert_pem first, then older CAs not yet expired
};

// Renew at 2/3 of the lifetime: cert-manager's default, which leaves a third of the lifetime to
// retry a failed renewal.
bool needs_leaf_renewal(const Validity& leaf, TimePoint now);
// Same 2/3 point for the CA: the old CA then stays trusted for a third of its lifetime, far longer
// than any caBundle takes to reach the API servers.
bool needs_ca_rotation(const Validity& ca, TimePoint now);
// Trust bundle during the overlap: the new CA first (it signs from now on), then the old one.
std::string ca_bundle(const std::string& old_ca_pem, const std::string& new_ca_pem);

Result<CertBundle> make_bundle(const IssueSpec& spec, TimePoint now = Clock::now());

struct RotationPlan {
  bool rotate_ca = false;    // new signing CA, appended to the trust bundle
  bool renew_leaf = false;   // new serving certificate from the (possibly new) signing CA
  bool prune_trust = false;  // drop expired CAs from the trust bundle
  std::string reason;        // one line for the info log
  bool any() const { return rotate_ca || renew_leaf || prune_trust; }
};

// `trust_published`: the webhook configurations already carry `bundle.trust_pem` as caBundle.
Result<RotationPlan> plan_rotation(const CertBundle& bundle, const IssueSpec& spec, TimePoint now,
                                   bool trust_published);
Result<CertBundle> rotate(const CertBundle& bundle, const RotationPlan& plan, const IssueSpec& spec,
                          TimePoint now);

}  // namespace latticeguard::certs
