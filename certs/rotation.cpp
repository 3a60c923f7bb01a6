#include "certs/rotation.h"

namespace latticeguard::certs {
namespace {

bool past_two_thirds(const Validity& v, TimePoint now) {
  return now >= v.not_before + (v.not_after - v.not_before) * 2 / 3;
}

// True when the leaf chains to the signing CA and carries every requested name.
bool leaf_matches(const CertBundle& b, const IssueSpec& spec, TimePoint now) {
  if (!verify_chain(b.leaf.cert_pem, b.ca.cert_pem, "", now)) return false;
  for (const auto* names : {&spec.dns_names, &spec.ips}) {
    for (const std::string& n : *names) {
      if (!verify_chain(b.leaf.cert_pem, b.ca.cert_pem, n, now)) return false;
    }
  }
  return true;
}

}  // namespace

bool needs_leaf_renewal(const Validity& leaf, TimePoint now) { return past_two_thirds(leaf, now); }

bool needs_ca_rotation(const Validity& ca, TimePoint now) { return past_two_thirds(ca, now); }

std::string ca_bundle(const std::string& old_ca_pem, const std::string& new_ca_pem) {
  std::string out = new_ca_pem;
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out + old_ca_pem;
}

Result<CertBundle> make_bundle(const IssueSpec& spec, TimePoint now) {
  Result<KeyPair> ca = make_ca(spec.ca_common_name, spec.ca_days, now);
  if (!ca) return ca.error();
  Result<KeyPair> leaf = issue_serving(*ca, spec.dns_names, spec.ips, spec.days, now);
  if (!leaf) return leaf.error();
  std::string trust = ca->cert_pem;
  return CertBundle{std::move(*ca), std::move(*leaf), std::move(trust)};
}

Result<RotationPlan> plan_rotation(const CertBundle& bundle, const IssueSpec& spec, TimePoint now,
                                   bool trust_published) {
  if (Status s = check_key_pair(bundle.ca); !s) return s.error();
  if (Status s = check_key_pair(bundle.leaf); !s) return s.error();
  Result<Validity> ca = validity(bundle.ca.cert_pem);
  if (!ca) return ca.error();
  Result<Validity> leaf = validity(bundle.leaf.cert_pem);
  if (!leaf) return leaf.error();
  Result<std::vector<std::string>> trusted = split_pem_bundle(bundle.trust_pem);
  if (!trusted) return trusted.error();

  RotationPlan plan;
  const bool leaf_expired = now >= leaf->not_after;
  if (needs_ca_rotation(*ca, now)) {
    plan.rotate_ca = true;
    // Phase one keeps a working leaf; a dead one has nothing to lose.
    plan.renew_leaf = leaf_expired;
    plan.reason = "CA past 2/3 of its lifetime";
  } else if (!leaf_matches(bundle, spec, now)) {
    // After a CA rotation (or a change of names) the leaf moves to the signing CA, but only once
    // clients trust that CA.
    plan.renew_leaf = trust_published || leaf_expired;
    plan.reason = "serving certificate not issued by the signing CA for the configured names";
  } else if (needs_leaf_renewal(*leaf, now)) {
    plan.renew_leaf = true;
    plan.reason = "serving certificate past 2/3 of its lifetime";
  }
  for (const std::string& pem : *trusted) {
    Result<TimePoint> end = expiry(pem);
    if (!end) return end.error();
    if (now >= *end) {
      plan.prune_trust = true;
      if (plan.reason.empty()) plan.reason = "expired CA in the trust bundle";
    }
  }
  return plan;
}

Result<CertBundle> rotate(const CertBundle& bundle, const RotationPlan& plan, const IssueSpec& spec,
                          TimePoint now) {
  CertBundle out = bundle;
  if (plan.rotate_ca) {
    Result<KeyPair> ca = make_ca(spec.ca_common_name, spec.ca_days, now);
    if (!ca) return ca.error();
    out.ca = std::move(*ca);
    out.trust_pem = ca_bundle(bundle.trust_pem, out.ca.cert_pem);
  }
  if (plan.renew_leaf) {
    Result<KeyPair> leaf = issue_serving(out.ca, spec.dns_names, spec.ips, spec.days, now);
    if (!leaf) return leaf.error();
    out.leaf = std::move(*leaf);
  }
  if (plan.prune_trust || plan.rotate_ca) {
    Result<std::vector<std::string>> trusted = split_pem_bundle(out.trust_pem);
    if (!trusted) return trusted.error();
    std::string kept;
    for (const std::string& pem : *trusted) {
      Result<TimePoint> end = expiry(pem);
      if (end && now < *end) kept += pem;
    }
    if (kept.empty()) kept = out.ca.cert_pem;
    out.trust_pem = std::move(kept);
  }
  return out;
}

}  // namespace latticeguard::certs
