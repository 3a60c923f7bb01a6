// Helpers for the end-to-end tests of the `latticeguard` binary: child processes (one-shot
// commands and long-running `serve`), throwaway certificates from `latticeguard certs generate`,
// an HTTPS client that verifies the server against that CA, AdmissionReview builders and bounded
// polling.
//
//   TempDir tmp;
//   Certs certs = generate_certs(tmp.path / "certs");
//   auto serve = ServeProcess::start({"--tls-cert", certs.cert, ...}, tmp.path / "serve.log");
//   HttpsClient https(serve->port(), certs.ca);
//   json resp = https.review("/validate", review_for(object, "CREATE"));
//
// Thread safety: none; each test drives its own processes from its own thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace latticeguard::serve_test {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

std::string lg_binary();
std::string read_file(const fs::path& p);
void write_file(const fs::path& p, const std::string& text);

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  fs::path path;
};

struct CmdResult {
  int code = -1;  // exit code; -1 when killed (timeout or signal)
  std::string out, err;
};
// Runs the binary with `args` (no shell), stdout and stderr captured; killed after `timeout`.
CmdResult run_lg(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 30s);

// A running `latticeguard serve --listen 127.0.0.1:0 ...`; the port is read from its
// `event=serving` log line, so no port is guessed and none can be taken by someone else.
class ServeProcess {
 public:
  // nullptr (with the log on stderr of the test) when the server did not come up in time.
  static std::unique_ptr<ServeProcess> start(const std::vector<std::string>& args,
                                             const fs::path& log,
                                             std::chrono::milliseconds timeout = 20s);
  ~ServeProcess();  // SIGKILL if still running
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string log() const { return read_file(log_); }
  void signal(int sig);
  // The exit code once the process ended within `timeout`; -1 for death by signal.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  fs::path log_;
  bool reaped_ = false;
};

struct Certs {
  fs::path dir, ca, cert, key;
  std::string ca_pem;
};
// `latticeguard certs generate --out DIR --ip 127.0.0.1`; empty ca_pem on failure.
Certs generate_certs(const fs::path& dir);

struct HttpResult {
  int status = 0;  // 0: no answer (connection or TLS failure)
  std::string body;
};

// HTTPS to 127.0.0.1:port, verifying the server certificate against `ca_file` (IP SAN).
class HttpsClient {
 public:
  HttpsClient(int port, const fs::path& ca_file);
  ~HttpsClient();
  HttpResult get(const std::string& path);
  HttpResult post(const std::string& path, const std::string& body);
  // POSTs the review; the parsed AdmissionReview answer, or null when not HTTP 200 JSON.
  json review(const std::string& path, const json& review_body);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Connects over TLS with SNI and host verification for `dns_name` against `ca_pem`; empty
// string on success, else what failed.
std::string verify_tls_for_name(int port, const std::string& ca_pem, const std::string& dns_name);

// An AdmissionReview request for `obj` (CREATE/UPDATE: object; DELETE: oldObject).
json review_for(const json& obj, const std::string& operation, const json& old_obj = nullptr,
                bool dry_run = false);

// `response` of an AdmissionReview answer ({} when absent).
json response_of(const json& answer);
std::string message_of(const json& answer);  // response.status.message or ""
// response.patch base64-decoded and parsed: the JSON Patch array, or null.
json patch_of(const json& answer);

// The value of one series in a Prometheus text page ("name{labels}" as rendered), or nullopt.
std::optional<double> metric_value(const std::string& page, const std::string& series);

// Polls `pred` until it holds or `timeout` passes; every wait in these tests is bounded.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 15s,
                std::chrono::milliseconds every = 50ms) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (static_cast<bool>(pred())) return true;
    std::this_thread::sleep_for(every);
  }
  return static_cast<bool>(pred());
}

// YAML documents (as the tests write them) from a file, as JSON, via kube::yaml_to_json.
std::vector<json> yaml_documents(const fs::path& file);

}  // namespace latticeguard::serve_test
