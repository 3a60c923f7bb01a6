// Serving certificate and key for the webhook, reloaded from disk while the server runs.
//
//   auto r = CertReloader::create({.cert_file = "/tls/tls.crt", .key_file = "/tls/tls.key"}, &m);
//   if (!r) fail_startup(r.error().message);      // a missing or broken pair at startup is fatal
//   (*r)->start_polling();                         // re-reads the files every poll_interval
//   (*r)->configure(*ssl_ctx);                     // TLS 1.2+, modern ciphers, current pair
//
// cert-manager and the kubelet rotate mounted Secrets in place (the kubelet swaps a symlink, so the
// files change contents without a rename we could watch). Polling the contents catches both. A new
// pair that does not parse, does not match, or is expired is refused with
// `event=cert_reload_failed` and the old pair stays in use; the next change is tried again.
// Each TLS handshake asks for the current pair (SSL_CTX_set_cert_cb), so open connections keep
// their session and new ones see the new certificate without a restart.
//
// Thread safety: all methods are safe to call concurrently; current() is called per handshake.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "rules/core/result.h"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX; only tls.cpp and server.cpp see OpenSSL headers

namespace latticeguard::webhook {

class Metrics;

struct TlsOptions {
  std::string cert_file{};       // PEM: the serving certificate, then any intermediates
  std::string key_file{};        // PEM private key, unencrypted
  std::string client_ca_file{};  // PEM CA bundle; when set, clients must present a certificate
  std::chrono::milliseconds poll_interval{2000};
};

// A loaded, validated certificate chain and key. Opaque outside tls.cpp.
class CertPair;

struct CertInfo {
  std::int64_t not_after_unix = 0;
  std::string serial_hex;  // uppercase hex, as `openssl x509 -serial` prints it
  std::string subject;     // RFC 2253
};

// Parses and validates PEM contents: a certificate, a key, the key matching the certificate and
// the certificate not expired.
Result<std::shared_ptr<const CertPair>> parse_cert_pair(const std::string& cert_pem,
                                                        const std::string& key_pem);
CertInfo cert_info(const CertPair& pair);

class CertReloader {
 public:
  // Loads the pair (errors are fatal for the caller) and records its expiry in `metrics`
  // (latticeguard_cert_expiry_timestamp_seconds) when given.
  static Result<std::unique_ptr<CertReloader>> create(TlsOptions options, Metrics* metrics);
  ~CertReloader();
  CertReloader(const CertReloader&) = delete;
  CertReloader& operator=(const CertReloader&) = delete;

  std::shared_ptr<const CertPair> current() const;
  CertInfo current_info() const;

  // Re-reads both files now. Returns true when a new pair was installed; false when the files
  // did not change or the new pair was refused (the old pair stays).
  bool reload_now();
  void start_polling();
  void stop_polling();

  // Sets up a server context: TLS 1.2 minimum, ECDHE+AEAD cipher suites, TLS 1.3 suites, no
  // compression or renegotiation, the current pair chosen per handshake, and client certificate
  // verification when client_ca_file is set.
  Status configure(ssl_ctx_st& ctx) const;

 private:
  CertReloader(TlsOptions options, Metrics* metrics);
  void install(std::shared_ptr<const CertPair> pair);

  const TlsOptions options_;
  Metrics* const metrics_;
  mutable std::mutex mu_;
  std::shared_ptr<const CertPair> current_;
  std::mutex reload_mu_;                      // one reload at a time (poller vs reload_now)
  std::string seen_cert_pem_, seen_key_pem_;  // last contents tried, good or bad

  std::mutex poll_mu_;
  std::condition_variable poll_cv_;
  bool stop_ = false;
  std::thread poller_;
};

}  // namespace latticeguard::webhook
