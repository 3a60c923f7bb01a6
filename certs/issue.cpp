#include "certs/issue.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <ctime>
#include <string>

#include "certs/openssl_ptr.h"

namespace latticeguard::certs {
namespace {

// Backdating notBefore absorbs clock skew between this pod and the API server.
constexpr std::chrono::minutes kBackdate{5};
// RFC 5280 allows serials up to 20 octets; 159 random bits keep the top bit clear.
constexpr int kSerialBits = 159;

Error openssl_error(std::string_view what) {
  std::string msg(what);
  unsigned long code = ERR_get_error();
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    msg += ": ";
    msg += buf;
  }
  ERR_clear_error();
  return Error{msg};
}

BioPtr mem_bio(std::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string bio_string(BIO* bio) {
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(bio, &mem);
  return mem ? std::string(mem->data, mem->length) : std::string();
}

Result<X509Ptr> read_cert(std::string_view pem) {
  BioPtr bio = mem_bio(pem);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return openssl_error("cannot parse PEM certificate");
  return cert;
}

Result<EvpPkeyPtr> read_key(std::string_view pem) {
  BioPtr bio = mem_bio(pem);
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return openssl_error("cannot parse PEM private key");
  return key;
}

Result<std::string> cert_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return openssl_error("PEM encode cert");
  return bio_string(bio.get());
}

Result<std::string> key_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return openssl_error("PEM encode key");
  }
  return bio_string(bio.get());
}

Result<EvpPkeyPtr> new_p256_key() {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return openssl_error("EC P-256 key generation failed");
  return key;
}

TimePoint from_asn1(const ASN1_TIME* t) {
  struct tm tm {};
  ASN1_TIME_to_tm(t, &tm);
  return Clock::from_time_t(timegm(&tm));
}

// Serial, validity and public key: the parts a CA and a leaf share.
Result<X509Ptr> new_cert(EVP_PKEY* key, int days, TimePoint now) {
  if (days <= 0) return Error{"validity must be at least one day"};
  X509Ptr cert(X509_new());
  BignumPtr serial(BN_new());
  if (!cert || !serial) return openssl_error("allocation failed");
  if (BN_rand(serial.get(), kSerialBits, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) {
    return openssl_error("random serial");
  }
  Asn1IntegerPtr asn1_serial(BN_to_ASN1_INTEGER(serial.get(), nullptr));
  const std::time_t from = Clock::to_time_t(now - kBackdate);
  const std::time_t to = Clock::to_time_t(now + std::chrono::hours(24) * days);
  if (!asn1_serial || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      X509_set_serialNumber(cert.get(), asn1_serial.get()) != 1 ||
      !ASN1_TIME_set(X509_getm_notBefore(cert.get()), from) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()), to) || X509_set_pubkey(cert.get(), key) != 1) {
    return openssl_error("cannot fill certificate");
  }
  return cert;
}

Status set_common_name(X509* cert, std::string_view cn) {
  X509NamePtr name(X509_NAME_new());
  if (!name ||
      X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.data()),
                                 static_cast<int>(cn.size()), -1, 0) != 1 ||
      X509_set_subject_name(cert, name.get()) != 1) {
    return openssl_error("cannot set subject");
  }
  return Ok{};
}

Status add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return openssl_error("cannot add extension " + value);
  }
  return Ok{};
}

Result<KeyPair> sign_and_encode(X509* cert, EVP_PKEY* signer, EVP_PKEY* key) {
  if (X509_sign(cert, signer, EVP_sha256()) <= 0) return openssl_error("signing failed");
  Result<std::string> c = cert_pem(cert);
  if (!c) return c.error();
  Result<std::string> k = key_pem(key);
  if (!k) return k.error();
  return KeyPair{std::move(*c), std::move(*k)};
}

bool is_dns_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

// RFC 1123 host name, optionally with a leading "*." label. Rejecting anything else also keeps
// commas and colons out of the extension string handed to X509V3_EXT_conf_nid.
bool valid_dns_name(std::string_view name) {
  if (name.starts_with("*.")) name.remove_prefix(2);
  if (name.empty() || name.size() > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      if (label == 0 || label > 63 || name[i - 1] == '-' || name[i - label] == '-') return false;
      label = 0;
    } else if (!is_dns_label_char(name[i])) {
      return false;
    } else {
      ++label;
    }
  }
  return true;
}

bool valid_ip(const std::string& ip) {
  unsigned char buf[16];
  return inet_pton(AF_INET, ip.c_str(), buf) == 1 || inet_pton(AF_INET6, ip.c_str(), buf) == 1;
}

}  // namespace

std::vector<std::string> service_dns_names(std::string_view service, std::string_view ns) {
  std::string s(service);
  std::string sn = s + "." + std::string(ns);
  return {s, sn, sn + ".svc", sn + ".svc.cluster.local"};
}

Result<KeyPair> make_ca(std::string_view common_name, int days, TimePoint now) {
  Result<EvpPkeyPtr> key = new_p256_key();
  if (!key) return key.error();
  Result<X509Ptr> cert = new_cert(key->get(), days, now);
  if (!cert) return cert.error();
  X509* c = cert->get();
  if (Status s = set_common_name(c, common_name); !s) return s.error();
  if (X509_set_issuer_name(c, X509_get_subject_name(c)) != 1) return openssl_error("issuer");
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                            std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                            std::pair{NID_subject_key_identifier, "hash"}}) {
    if (Status s = add_ext(c, c, nid, value); !s) return s.error();
  }
  return sign_and_encode(c, key->get(), key->get());
}

Result<KeyPair> issue_serving(const KeyPair& ca, std::span<const std::string> dns_names,
                              std::span<const std::string> ips, int days, TimePoint now) {
  if (dns_names.empty() && ips.empty()) return Error{"a serving certificate needs a name"};
  std::string san;
  for (const std::string& n : dns_names) {
    if (!valid_dns_name(n)) return Error{"invalid DNS name: " + n};
    san += (san.empty() ? "DNS:" : ",DNS:") + n;
  }
  for (const std::string& ip : ips) {
    if (!valid_ip(ip)) return Error{"invalid IP address: " + ip};
    san += (san.empty() ? "IP:" : ",IP:") + ip;
  }
  Result<X509Ptr> ca_cert = read_cert(ca.cert_pem);
  if (!ca_cert) return ca_cert.error();
  Result<EvpPkeyPtr> ca_key = read_key(ca.key_pem);
  if (!ca_key) return ca_key.error();
  if (X509_check_private_key(ca_cert->get(), ca_key->get()) != 1) {
    return openssl_error("CA key does not match CA certificate");
  }
  Result<EvpPkeyPtr> key = new_p256_key();
  if (!key) return key.error();
  Result<X509Ptr> cert = new_cert(key->get(), days, now);
  if (!cert) return cert.error();
  X509* c = cert->get();
  if (Status s = set_common_name(c, dns_names.empty() ? ips.front() : dns_names.front()); !s) {
    return s.error();
  }
  if (X509_set_issuer_name(c, X509_get_subject_name(ca_cert->get())) != 1) {
    return openssl_error("issuer");
  }
  for (auto [nid, value] :
       {std::pair{NID_basic_constraints, std::string("critical,CA:FALSE")},
        std::pair{NID_key_usage, std::string("critical,digitalSignature,keyEncipherment")},
        std::pair{NID_ext_key_usage, std::string("serverAuth")},
        std::pair{NID_subject_key_identifier, std::string("hash")},
        std::pair{NID_authority_key_identifier, std::string("keyid:always")},
        std::pair{NID_subject_alt_name, san}}) {
    if (Status s = add_ext(c, ca_cert->get(), nid, value); !s) return s.error();
  }
  return sign_and_encode(c, ca_key->get(), key->get());
}

Result<Validity> validity(std::string_view pem) {
  Result<X509Ptr> cert = read_cert(pem);
  if (!cert) return cert.error();
  return Validity{from_asn1(X509_get0_notBefore(cert->get())),
                  from_asn1(X509_get0_notAfter(cert->get()))};
}

Result<TimePoint> expiry(std::string_view pem) {
  Result<Validity> v = validity(pem);
  if (!v) return v.error();
  return v->not_after;
}

Result<std::vector<std::string>> split_pem_bundle(std::string_view bundle_pem) {
  BioPtr bio = mem_bio(bundle_pem);
  std::vector<std::string> out;
  while (X509Ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
    Result<std::string> pem = cert_pem(cert.get());
    if (!pem) return pem.error();
    out.push_back(std::move(*pem));
  }
  ERR_clear_error();  // the loop ends on a "no start line" error
  if (out.empty()) return Error{"no certificate in PEM bundle"};
  return out;
}

Status verify_chain(std::string_view leaf_pem, std::string_view ca_bundle_pem,
                    std::string_view host_or_ip, TimePoint now) {
  Result<X509Ptr> leaf = read_cert(leaf_pem);
  if (!leaf) return leaf.error();
  Result<std::vector<std::string>> cas = split_pem_bundle(ca_bundle_pem);
  if (!cas) return cas.error();
  X509StorePtr store(X509_STORE_new());
  if (!store) return openssl_error("allocation failed");
  for (const std::string& pem : *cas) {
    Result<X509Ptr> ca = read_cert(pem);
    if (!ca) return ca.error();
    if (X509_STORE_add_cert(store.get(), ca->get()) != 1) return openssl_error("CA store");
  }
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), leaf->get(), nullptr) != 1) {
    return openssl_error("verify context");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, Clock::to_time_t(now));
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
  if (!host_or_ip.empty()) {
    std::string name(host_or_ip);
    const bool ip = valid_ip(name);
    const int set = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
                       : X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
    if (set != 1) return openssl_error("bad host name " + name);
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    ERR_clear_error();
    return Error{std::string("certificate verification failed: ") +
                 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()))};
  }
  return Ok{};
}

Status check_key_pair(const KeyPair& pair) {
  Result<X509Ptr> cert = read_cert(pair.cert_pem);
  if (!cert) return cert.error();
  Result<EvpPkeyPtr> key = read_key(pair.key_pem);
  if (!key) return key.error();
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    return openssl_error("private key does not match certificate");
  }
  return Ok{};
}

}  // namespace latticeguard::certs
