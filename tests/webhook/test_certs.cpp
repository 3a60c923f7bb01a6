#include "tests/webhook/test_certs.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace latticeguard::webhook::testing {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(what);
}

PkeyPtr new_p256_key() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  check(key != nullptr, "EVP_EC_gen");
  return key;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, "X509V3_EXT_conf_nid");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

X509Ptr new_cert(const std::string& cn, long serial, long valid_seconds, EVP_PKEY* key) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), valid_seconds);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return cert;
}

std::string pem_of(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string pem_of(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace

struct TestCa::State {
  PkeyPtr key;
  X509Ptr cert;
};

TestCa::TestCa(const std::string& name) : state_(new State) {
  state_->key = new_p256_key();
  state_->cert = new_cert(name, 1, 86400, state_->key.get());
  X509_set_issuer_name(state_->cert.get(), X509_get_subject_name(state_->cert.get()));
  add_ext(state_->cert.get(), state_->cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_ext(state_->cert.get(), state_->cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(state_->cert.get(), state_->cert.get(), NID_subject_key_identifier, "hash");
  check(X509_sign(state_->cert.get(), state_->key.get(), EVP_sha256()) > 0, "sign CA");
  cert_pem_ = pem_of(state_->cert.get());
}

TestCa::~TestCa() { delete state_; }

PemPair TestCa::issue(const std::string& common_name, long serial, bool client,
                      long valid_seconds) const {
  PkeyPtr key = new_p256_key();
  X509Ptr cert = new_cert(common_name, serial, valid_seconds, key.get());
  X509_set_issuer_name(cert.get(), X509_get_subject_name(state_->cert.get()));
  add_ext(cert.get(), state_->cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_ext(cert.get(), state_->cert.get(), NID_key_usage, "critical,digitalSignature");
  add_ext(cert.get(), state_->cert.get(), NID_ext_key_usage, client ? "clientAuth" : "serverAuth");
  if (!client) {
    add_ext(cert.get(), state_->cert.get(), NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
  }
  check(X509_sign(cert.get(), state_->key.get(), EVP_sha256()) > 0, "sign leaf");
  return {pem_of(cert.get()), pem_of(key.get())};
}

void write_file(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  check(static_cast<bool>(out), "write_file");
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace latticeguard::webhook::testing
