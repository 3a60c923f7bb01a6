#include "webhook/tls.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <ctime>
#include <fstream>
#include <sstream>
#include <utility>

#include "webhook/metrics.h"
#include "webhook/openssl_ptr.h"

namespace latticeguard::webhook {
namespace {

using BioPtr = OpenSslPtr<BIO, BIO_free>;
using X509Ptr = OpenSslPtr<X509, X509_free>;
using EvpPkeyPtr = OpenSslPtr<EVP_PKEY, EVP_PKEY_free>;
using BignumPtr = OpenSslPtr<BIGNUM, BN_free>;
void free_x509_stack(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }
using X509StackPtr = OpenSslPtr<STACK_OF(X509), free_x509_stack>;
void free_name_stack(STACK_OF(X509_NAME) * s) { sk_X509_NAME_pop_free(s, X509_NAME_free); }
using X509NameStackPtr = OpenSslPtr<STACK_OF(X509_NAME), free_name_stack>;

// ECDHE key exchange with AEAD ciphers only (Mozilla "intermediate"); TLS 1.3 suites are all AEAD.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kTls13Suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr unsigned char kSessionIdContext[] = "latticeguard";

// Drains OpenSSL's thread-local error queue into one line.
std::string openssl_errors(std::string_view what) {
  std::string out(what);
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    out += ": ";
    out += buf;
  }
  return out;
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error{"cannot read " + path};
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

BioPtr memory_bio(const std::string& s) {
  return BioPtr(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())));
}

}  // namespace

class CertPair {
 public:
  X509Ptr leaf;
  X509StackPtr chain;  // intermediates after the leaf, possibly empty
  EvpPkeyPtr key;
  CertInfo info;
};

namespace {

// Runs at every handshake, so each new connection gets the pair current at that moment.
int cert_cb(SSL* ssl, void* arg) {
  auto pair = static_cast<const CertReloader*>(arg)->current();
  return pair && SSL_use_certificate(ssl, pair->leaf.get()) == 1 &&
                 SSL_use_PrivateKey(ssl, pair->key.get()) == 1 &&
                 SSL_set1_chain(ssl, pair->chain.get()) == 1
             ? 1
             : 0;
}

}  // namespace

Result<std::shared_ptr<const CertPair>> parse_cert_pair(const std::string& cert_pem,
                                                        const std::string& key_pem) {
  ERR_clear_error();
  auto pair = std::make_shared<CertPair>();
  BioPtr cert_bio = memory_bio(cert_pem);
  pair->leaf.reset(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (!pair->leaf) {
    return Error{openssl_errors("certificate: no PEM certificate")};
  }
  pair->chain.reset(sk_X509_new_null());
  while (X509* extra = PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)) {
    sk_X509_push(pair->chain.get(), extra);
  }
  ERR_clear_error();  // the loop ends on "no start line"

  BioPtr key_bio = memory_bio(key_pem);
  // A null callback would prompt on the terminal for an encrypted key; refuse instead.
  auto no_password = [](char*, int, int, void*) { return 0; };
  pair->key.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, no_password, nullptr));
  if (!pair->key) {
    return Error{openssl_errors("key: no unencrypted PEM private key")};
  }
  if (X509_check_private_key(pair->leaf.get(), pair->key.get()) != 1) {
    return Error{openssl_errors("key does not match the certificate")};
  }

  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(pair->leaf.get()), &tm) != 1) {
    return Error{openssl_errors("certificate: unreadable notAfter")};
  }
  pair->info.not_after_unix = timegm(&tm);
  if (pair->info.not_after_unix <= std::time(nullptr)) {
    return Error{"certificate expired at unix " + std::to_string(pair->info.not_after_unix)};
  }
  BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(pair->leaf.get()), nullptr));
  if (serial) {
    char* hex = BN_bn2hex(serial.get());
    pair->info.serial_hex = hex;
    OPENSSL_free(hex);
  }
  BioPtr name_bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(name_bio.get(), X509_get_subject_name(pair->leaf.get()), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long len = BIO_get_mem_data(name_bio.get(), &data);
  pair->info.subject.assign(data, static_cast<std::size_t>(len));
  return std::shared_ptr<const CertPair>(std::move(pair));
}

CertInfo cert_info(const CertPair& pair) { return pair.info; }

CertReloader::CertReloader(TlsOptions options, Metrics* metrics)
    : options_(std::move(options)), metrics_(metrics) {}

CertReloader::~CertReloader() { stop_polling(); }

Result<std::unique_ptr<CertReloader>> CertReloader::create(TlsOptions options, Metrics* metrics) {
  std::unique_ptr<CertReloader> r(new CertReloader(std::move(options), metrics));
  auto cert = read_file(r->options_.cert_file);
  if (!cert) return cert.error();
  auto key = read_file(r->options_.key_file);
  if (!key) return key.error();
  auto pair = parse_cert_pair(*cert, *key);
  if (!pair) {
    return Error{r->options_.cert_file + ", " + r->options_.key_file + ": " + pair.error().message};
  }
  r->seen_cert_pem_ = std::move(*cert);
  r->seen_key_pem_ = std::move(*key);
  r->install(std::move(*pair));
  return r;
}

void CertReloader::install(std::shared_ptr<const CertPair> pair) {
  const CertInfo& info = pair->info;
  spdlog::info("event=cert_loaded cert={} serial={} not_after={} subject=\"{}\"",
               options_.cert_file, info.serial_hex, info.not_after_unix, info.subject);
  if (metrics_) {
    metrics_->cert_expiry().set({}, static_cast<double>(info.not_after_unix));
  }
  std::lock_guard lock(mu_);
  current_ = std::move(pair);
}

std::shared_ptr<const CertPair> CertReloader::current() const {
  std::lock_guard lock(mu_);
  return current_;
}

CertInfo CertReloader::current_info() const { return current()->info; }

bool CertReloader::reload_now() {
  std::lock_guard reload_lock(reload_mu_);
  auto cert = read_file(options_.cert_file);
  auto key = read_file(options_.key_file);
  if (!cert || !key) {
    // Mid-rotation the files can be briefly absent; report only once per state change.
    if (!seen_cert_pem_.empty() || !seen_key_pem_.empty()) {
      spdlog::error("event=cert_reload_failed cert={} key={} error=\"{}\"", options_.cert_file,
                    options_.key_file, !cert ? cert.error().message : key.error().message);
      seen_cert_pem_.clear();
      seen_key_pem_.clear();
    }
    return false;
  }
  if (*cert == seen_cert_pem_ && *key == seen_key_pem_) {
    return false;
  }
  seen_cert_pem_ = *cert;
  seen_key_pem_ = *key;
  auto pair = parse_cert_pair(*cert, *key);
  if (!pair) {
    spdlog::error("event=cert_reload_failed cert={} key={} error=\"{}\" keeping_serial={}",
                  options_.cert_file, options_.key_file, pair.error().message,
                  current_info().serial_hex);
    return false;
  }
  install(std::move(*pair));
  return true;
}

void CertReloader::start_polling() {
  std::lock_guard lock(poll_mu_);
  if (poller_.joinable()) {
    return;
  }
  stop_ = false;
  poller_ = std::thread([this] {
    std::unique_lock lock(poll_mu_);
    while (!poll_cv_.wait_for(lock, options_.poll_interval, [this] { return stop_; })) {
      lock.unlock();
      reload_now();
      lock.lock();
    }
  });
}

void CertReloader::stop_polling() {
  std::thread t;
  {
    std::lock_guard lock(poll_mu_);
    stop_ = true;
    t = std::move(poller_);
  }
  poll_cv_.notify_all();
  if (t.joinable()) {
    t.join();
  }
}

Status CertReloader::configure(ssl_ctx_st& ctx) const {
  ERR_clear_error();
  SSL_CTX* c = &ctx;
  if (SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(c, kTls12Ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(c, kTls13Suites) != 1 ||
      SSL_CTX_set1_groups_list(c, "X25519:P-256:P-384") != 1 ||
      SSL_CTX_set_session_id_context(c, kSessionIdContext, sizeof(kSessionIdContext) - 1) != 1) {
    return Error{openssl_errors("TLS context setup failed")};
  }
  SSL_CTX_set_options(
      c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_cert_cb(c, cert_cb, const_cast<CertReloader*>(this));
  if (options_.client_ca_file.empty()) {
    return Ok{};
  }
  X509NameStackPtr names(SSL_load_client_CA_file(options_.client_ca_file.c_str()));
  if (!names || SSL_CTX_load_verify_locations(c, options_.client_ca_file.c_str(), nullptr) != 1) {
    return Error{openssl_errors("client CA " + options_.client_ca_file + " unreadable")};
  }
  SSL_CTX_set_client_CA_list(c, names.release());
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  return Ok{};
}

}  // namespace latticeguard::webhook
