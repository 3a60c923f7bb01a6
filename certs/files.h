// `latticeguard certs generate`: issue a CA and a serving certificate into a directory and return
// the caBundle to paste into the webhook configurations.
//
//   CertsGenerateOptions o{.out_dir = "certs", .ns = "latticeguard-system"};
//   Result<std::string> ca_bundle_b64 = run_certs_generate(o);   // print it
//
// Files: ca.crt (trust bundle), ca.key, tls.crt, tls.key; keys are written 0600, certificates
// 0644, each through a temporary file and rename(2) so a reader never sees half a file. Not
// thread-safe against another writer of the same directory.
#pragma once

#include <string>
#include <vector>

#include "certs/rotation.h"
#include "rules/core/result.h"

namespace latticeguard::certs {

// Refuses to replace any of the four files unless `force`; creates `dir` (0700) if missing.
Status write_cert_files(const std::string& dir, const CertBundle& bundle, bool force);

// Reads the four files back (the form `write_cert_files` writes).
Result<CertBundle> read_cert_files(const std::string& dir);

struct CertsGenerateOptions {
  std::string out_dir;
  std::string service = "latticeguard";
  std::string ns = "latticeguard-system";
  std::vector<std::string> dns_names;  // extra --dns-name values
  std::vector<std::string> ips;        // --ip values
  int ca_days = 3650;
  int days = 365;
  bool force = false;
};

// The IssueSpec the options describe: the four Service names, then the extra names.
IssueSpec issue_spec(const CertsGenerateOptions& options);

// Issues and writes the files; returns the base64 caBundle (the trust bundle PEM, base64).
Result<std::string> run_certs_generate(const CertsGenerateOptions& options,
                                       TimePoint now = Clock::now());

}  // namespace latticeguard::certs
