#include "certs/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "rules/core/base64.h"

namespace latticeguard::certs {
namespace {

constexpr const char* kFileNames[] = {"ca.crt", "ca.key", "tls.crt", "tls.key"};

Error errno_error(const std::string& what) { return Error{what + ": " + std::strerror(errno)}; }

// Writes through a temporary file in the same directory, then rename(2): readers (the serving
// certificate reloader) see either the old file or the new one, never a torn one.
Status write_file(const std::string& path, const std::string& data, mode_t mode) {
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return errno_error("cannot create " + tmp);
  // The umask may have cleared bits of `mode`; keys must end up exactly 0600.
  bool ok = ::fchmod(fd, mode) == 0;
  size_t done = 0;
  while (ok && done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = errno_error("cannot write " + path);
    ::unlink(tmp.c_str());
    return e;
  }
  return Ok{};
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot read " + path};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Status write_cert_files(const std::string& dir, const CertBundle& bundle, bool force) {
  if (dir.empty()) return Error{"no output directory given"};
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return errno_error("cannot create " + dir);
  }
  if (!force) {
    for (const char* name : kFileNames) {
      const std::string path = dir + "/" + name;
      if (::access(path.c_str(), F_OK) == 0) {
        return Error{path + " exists; pass --force to replace it"};
      }
    }
  }
  const std::pair<const char*, const std::string*> files[] = {
      {"ca.crt", &bundle.trust_pem},
      {"ca.key", &bundle.ca.key_pem},
      {"tls.crt", &bundle.leaf.cert_pem},
      {"tls.key", &bundle.leaf.key_pem},
  };
  for (auto [name, data] : files) {
    const bool secret = std::string_view(name).ends_with(".key");
    if (Status s = write_file(dir + "/" + name, *data, secret ? 0600 : 0644); !s) return s;
  }
  return Ok{};
}

Result<CertBundle> read_cert_files(const std::string& dir) {
  std::string data[4];
  for (size_t i = 0; i < 4; ++i) {
    Result<std::string> r = read_file(dir + "/" + kFileNames[i]);
    if (!r) return r.error();
    data[i] = std::move(*r);
  }
  Result<std::vector<std::string>> trusted = split_pem_bundle(data[0]);
  if (!trusted) return Error{dir + "/ca.crt: " + trusted.error().message};
  CertBundle b{KeyPair{trusted->front(), data[1]}, KeyPair{data[2], data[3]}, data[0]};
  if (Status s = check_key_pair(b.ca); !s) return Error{dir + "/ca.key: " + s.error().message};
  if (Status s = check_key_pair(b.leaf); !s) return Error{dir + "/tls.key: " + s.error().message};
  return b;
}

IssueSpec issue_spec(const CertsGenerateOptions& options) {
  IssueSpec spec;
  spec.dns_names = service_dns_names(options.service, options.ns);
  for (const std::string& n : options.dns_names) {
    bool dup = false;
    for (const std::string& have : spec.dns_names) dup = dup || have == n;
    if (!dup) spec.dns_names.push_back(n);
  }
  spec.ips = options.ips;
  spec.ca_days = options.ca_days;
  spec.days = options.days;
  return spec;
}

Result<std::string> run_certs_generate(const CertsGenerateOptions& options, TimePoint now) {
  if (options.service.empty() || options.ns.empty()) {
    return Error{"--service and --namespace must not be empty"};
  }
  if (options.days > options.ca_days) {
    return Error{"--days must not exceed --ca-days: the serving certificate would outlive its CA"};
  }
  Result<CertBundle> bundle = make_bundle(issue_spec(options), now);
  if (!bundle) return bundle.error();
  if (Status s = write_cert_files(options.out_dir, *bundle, options.force); !s) return s.error();
  return base64_encode(bundle->trust_pem);
}

}  // namespace latticeguard::certs
