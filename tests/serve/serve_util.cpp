#include "tests/serve/serve_util.h"

#include <fcntl.h>
#include <httplib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <sstream>

#include "kube/client.h"
#include "kube/encoding.h"
#include "rules/core/base64.h"

extern char** environ;

namespace latticeguard::serve_test {

std::string lg_binary() { return std::string(LG_BINARY_DIR) + "/latticeguard"; }

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, const std::string& text) {
  // Through a rename, so a process polling the file never reads half of it.
  fs::path tmp = p;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
  }
  fs::rename(tmp, p);
}

TempDir::TempDir() {
  static std::atomic<int> seq{0};
  path = fs::temp_directory_path() /
         ("lg-serve-" + std::to_string(::getpid()) + "-" + std::to_string(seq++));
  fs::remove_all(path);
  fs::create_directories(path);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path, ec);
}

namespace {

// posix_spawn of the binary with stdout and stderr sent to files.
pid_t spawn(const std::vector<std::string>& args, const fs::path& out, const fs::path& err) {
  std::vector<std::string> argv_s{lg_binary()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (out == err) {
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
  } else {
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  }
  // The child must not inherit a blocked SIGTERM or an ignored SIGPIPE from the test runner.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return rc == 0 ? pid : -1;
}

// waitpid with a deadline; the exit code, -1 for a signal, nullopt while still running.
std::optional<int> wait_for(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (r < 0) return -1;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
}

}  // namespace

CmdResult run_lg(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  TempDir tmp;
  CmdResult r;
  pid_t pid = spawn(args, tmp.path / "out", tmp.path / "err");
  if (pid < 0) return r;
  std::optional<int> code = wait_for(pid, timeout);
  if (!code) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  r.code = code.value_or(-1);
  r.out = read_file(tmp.path / "out");
  r.err = read_file(tmp.path / "err");
  return r;
}

std::unique_ptr<ServeProcess> ServeProcess::start(const std::vector<std::string>& args,
                                                  const fs::path& log,
                                                  std::chrono::milliseconds timeout) {
  std::vector<std::string> all{"serve", "--listen", "127.0.0.1:0"};
  all.insert(all.end(), args.begin(), args.end());
  auto p = std::unique_ptr<ServeProcess>(new ServeProcess());
  p->log_ = log;
  p->pid_ = spawn(all, log, log);
  if (p->pid_ < 0) return nullptr;
  // "... event=serving listen=127.0.0.1:0 port=40123 rules=..."
  bool up = eventually(
      [&] {
        std::string text = read_file(log);
        size_t at = text.find("event=serving ");
        if (at == std::string::npos) return false;
        size_t port = text.find(" port=", at);
        if (port == std::string::npos) return false;
        p->port_ = std::atoi(text.c_str() + port + 6);
        return p->port_ > 0;
      },
      timeout, 20ms);
  if (!up) {
    std::cerr << "serve did not start; log:\n" << p->log() << "\n";
    return nullptr;
  }
  return p;
}

ServeProcess::~ServeProcess() {
  if (reaped_ || pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

void ServeProcess::signal(int sig) {
  if (!reaped_ && pid_ > 0) kill(pid_, sig);
}

std::optional<int> ServeProcess::wait_exit(std::chrono::milliseconds timeout) {
  std::optional<int> code = wait_for(pid_, timeout);
  if (code) reaped_ = true;
  return code;
}

Certs generate_certs(const fs::path& dir) {
  Certs c;
  c.dir = dir;
  c.ca = dir / "ca.crt";
  c.cert = dir / "tls.crt";
  c.key = dir / "tls.key";
  CmdResult r = run_lg({"certs", "generate", "--out", dir.string(), "--ip", "127.0.0.1"});
  if (r.code != 0) {
    std::cerr << "certs generate failed: " << r.err << "\n";
    return c;
  }
  c.ca_pem = read_file(c.ca);
  return c;
}

struct HttpsClient::Impl {
  httplib::SSLClient client;
  Impl(int port, const fs::path& ca) : client("127.0.0.1", port) {
    client.set_ca_cert_path(ca.c_str());
    client.enable_server_certificate_verification(true);
    client.set_connection_timeout(5, 0);
    client.set_read_timeout(10, 0);
    client.set_keep_alive(true);
    client.set_tcp_nodelay(true);  // else delayed ACKs add 40 ms to every request
  }
};

HttpsClient::HttpsClient(int port, const fs::path& ca_file)
    : impl_(std::make_unique<Impl>(port, ca_file)) {}
HttpsClient::~HttpsClient() = default;

HttpResult HttpsClient::get(const std::string& path) {
  auto r = impl_->client.Get(path);
  if (!r) return {};
  return {r->status, r->body};
}

HttpResult HttpsClient::post(const std::string& path, const std::string& body) {
  auto r = impl_->client.Post(path, body, "application/json");
  if (!r) return {};
  return {r->status, r->body};
}

json HttpsClient::review(const std::string& path, const json& review_body) {
  HttpResult r = post(path, review_body.dump());
  if (r.status != 200) return nullptr;
  json j = json::parse(r.body, nullptr, false);
  return j.is_discarded() ? json(nullptr) : j;
}

std::string verify_tls_for_name(int port, const std::string& ca_pem, const std::string& dns_name) {
  using Ctx = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;
  using Bio = std::unique_ptr<BIO, decltype(&BIO_free_all)>;
  Ctx ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!ctx) return "SSL_CTX_new failed";
  {
    std::unique_ptr<BIO, decltype(&BIO_free)> mem(
        BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size())), BIO_free);
    STACK_OF(X509_INFO)* infos = PEM_X509_INFO_read_bio(mem.get(), nullptr, nullptr, nullptr);
    if (!infos) return "caBundle is not PEM";
    X509_STORE* store = SSL_CTX_get_cert_store(ctx.get());
    int added = 0;
    for (int i = 0; i < sk_X509_INFO_num(infos); ++i) {
      X509_INFO* info = sk_X509_INFO_value(infos, i);
      if (info->x509 && X509_STORE_add_cert(store, info->x509) == 1) ++added;
    }
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    if (added == 0) return "caBundle holds no certificate";
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  Bio bio(BIO_new_ssl_connect(ctx.get()), BIO_free_all);
  std::string target = "127.0.0.1:" + std::to_string(port);
  BIO_set_conn_hostname(bio.get(), target.c_str());
  SSL* ssl = nullptr;
  BIO_get_ssl(bio.get(), &ssl);
  SSL_set_tlsext_host_name(ssl, dns_name.c_str());
  SSL_set1_host(ssl, dns_name.c_str());
  if (BIO_do_connect(bio.get()) <= 0 || BIO_do_handshake(bio.get()) <= 0) {
    long v = SSL_get_verify_result(ssl);
    std::string why = v != X509_V_OK ? X509_verify_cert_error_string(v) : "handshake failed";
    ERR_clear_error();
    return why;
  }
  if (SSL_get_verify_result(ssl) != X509_V_OK) return "verification failed";
  return "";
}

json review_for(const json& obj, const std::string& operation, const json& old_obj, bool dry_run) {
  static std::atomic<int> seq{0};
  const json& subject = obj.is_null() ? old_obj : obj;
  std::string api_version = subject.value("apiVersion", "v1");
  std::string group, version = api_version;
  if (size_t slash = api_version.find('/'); slash != std::string::npos) {
    group = api_version.substr(0, slash);
    version = api_version.substr(slash + 1);
  }
  std::string kind = subject.value("kind", "");
  std::string resource = kind;
  for (char& c : resource) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (resource.ends_with("y")) {
    resource = resource.substr(0, resource.size() - 1) + "ies";
  } else {
    resource += resource.ends_with("s") ? "es" : "s";
  }
  json gvk = {{"group", group}, {"version", version}, {"kind", kind}};
  json gvr = {{"group", group}, {"version", version}, {"resource", resource}};
  const json& md = subject["metadata"];
  json req = {{"uid", "e2e-" + std::to_string(seq++)},
              {"kind", gvk},
              {"resource", gvr},
              {"requestKind", gvk},
              {"requestResource", gvr},
              {"name", md.value("name", "")},
              {"operation", operation},
              {"userInfo", {{"username", "e2e"}}},
              {"object", obj},
              {"oldObject", old_obj},
              {"dryRun", dry_run}};
  if (md.contains("namespace")) req["namespace"] = md["namespace"];
  return {{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", req}};
}

json response_of(const json& answer) {
  if (answer.is_object() && answer.contains("response") && answer["response"].is_object()) {
    return answer["response"];
  }
  return json::object();
}

std::string message_of(const json& answer) {
  json r = response_of(answer);
  if (r.contains("status") && r["status"].is_object()) return r["status"].value("message", "");
  return "";
}

std::optional<double> metric_value(const std::string& page, const std::string& series) {
  const std::string key = series + " ";
  for (size_t at = page.find(key); at != std::string::npos; at = page.find(key, at + 1)) {
    if (at == 0 || page[at - 1] == '\n') return std::stod(page.substr(at + key.size()));
  }
  return std::nullopt;
}

json patch_of(const json& answer) {
  json r = response_of(answer);
  if (!r.contains("patch") || !r["patch"].is_string()) return nullptr;
  Result<std::string> raw = base64_decode(r["patch"].get<std::string>());
  if (!raw) return nullptr;
  json patch = json::parse(*raw, nullptr, false);
  return patch.is_discarded() ? json(nullptr) : patch;
}

std::vector<json> yaml_documents(const fs::path& file) {
  std::vector<json> docs;
  std::string text = read_file(file);
  size_t start = 0;
  while (start <= text.size()) {
    size_t sep = text.find("\n---", start);
    std::string part =
        text.substr(start, sep == std::string::npos ? std::string::npos : sep - start);
    Result<json> doc = kube::yaml_to_json(part);
    if (doc && doc->is_object()) docs.push_back(std::move(*doc));
    if (sep == std::string::npos) break;
    start = text.find('\n', sep + 1);
    if (start == std::string::npos) break;
  }
  return docs;
}

}  // namespace latticeguard::serve_test
