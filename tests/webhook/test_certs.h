// Throwaway PKI for the webhook tests: a CA, serving certificates for 127.0.0.1 and client
// certificates, all ECDSA P-256, generated in memory with OpenSSL EVP; and file helpers.
#pragma once

#include <string>

namespace latticeguard::webhook::testing {

struct PemPair {
  std::string cert;
  std::string key;
};

class TestCa {
 public:
  explicit TestCa(const std::string& name = "latticeguard test CA");
  ~TestCa();
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  const std::string& cert_pem() const { return cert_pem_; }
  // A leaf signed by this CA. Serving certificates carry SAN IP 127.0.0.1.
  PemPair issue(const std::string& common_name, long serial, bool client = false,
                long valid_seconds = 3600) const;

 private:
  struct State;
  State* state_;
  std::string cert_pem_;
};

void write_file(const std::string& path, const std::string& contents);
std::string read_file(const std::string& path);

}  // namespace latticeguard::webhook::testing
