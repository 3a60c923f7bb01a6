#include "kube/client.h"

#include <fcntl.h>
#include <httplib.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

#include "kube/encoding.h"
#include "rules/core/http_status.h"
#include "rules/core/json_reader.h"

extern char** environ;

namespace latticeguard::kube {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct StoreFree {
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using StorePtr = std::unique_ptr<X509_STORE, StoreFree>;

BioPtr mem_bio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Every certificate in a PEM bundle; nullptr when none parses.
StorePtr store_from_pem(const std::string& pem) {
  StorePtr store(X509_STORE_new());
  BioPtr bio = mem_bio(pem);
  int n = 0;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(store.get(), cert);
    X509_free(cert);
    ++n;
  }
  return n ? std::move(store) : nullptr;
}

X509Ptr cert_from_pem(const std::string& pem) {
  BioPtr bio = mem_bio(pem);
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

PkeyPtr key_from_pem(const std::string& pem) {
  BioPtr bio = mem_bio(pem);
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// RFC 3339 ("2026-11-26T22:52:40Z", fractions and offsets allowed) -> system time.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(const std::string& s) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  size_t i = static_cast<size_t>(consumed);
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  }
  long offset = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int hh = 0, mm = 0;
    if (std::sscanf(s.c_str() + i + 1, "%2d:%2d", &hh, &mm) != 2) return std::nullopt;
    offset = (hh * 3600L + mm * 60L) * (s[i] == '+' ? 1 : -1);
  } else if (i >= s.size() || (s[i] != 'Z' && s[i] != 'z')) {
    return std::nullopt;
  }
  return std::chrono::system_clock::from_time_t(timegm(&tm) - offset);
}

struct ServerAddr {
  bool tls = true;
  std::string host;
  int port = 443;
};

Result<ServerAddr> parse_server(const std::string& server) {
  ServerAddr a;
  std::string rest = server;
  if (rest.rfind("https://", 0) == 0) {
    rest = rest.substr(8);
  } else if (rest.rfind("http://", 0) == 0) {
    rest = rest.substr(7);
    a.tls = false;
    a.port = 80;
  } else {
    return Error{"server address must start with https:// or http://: " + server};
  }
  if (auto slash = rest.find('/'); slash != std::string::npos) rest = rest.substr(0, slash);
  std::string port;
  if (!rest.empty() && rest[0] == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos) return Error{"bad server address: " + server};
    a.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') port = rest.substr(close + 2);
  } else if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    a.host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  } else {
    a.host = rest;
  }
  if (!port.empty()) {
    char* end = nullptr;
    long p = std::strtol(port.c_str(), &end, 10);
    if (*end != '\0' || p <= 0 || p > 65535) return Error{"bad server port: " + server};
    a.port = static_cast<int>(p);
  }
  if (a.host.empty()) return Error{"bad server address: " + server};
  return a;
}

// "list httproutes.gateway.networking.k8s.io" from a request, for 401/403 messages.
std::pair<std::string, std::string> verb_and_resource(const std::string& method,
                                                      const std::string& path_and_query) {
  std::string path = path_and_query.substr(0, path_and_query.find('?'));
  bool watch = path_and_query.find("watch=1") != std::string::npos ||
               path_and_query.find("watch=true") != std::string::npos;
  std::vector<std::string> seg;
  std::stringstream ss(path);
  for (std::string s; std::getline(ss, s, '/');) {
    if (!s.empty()) seg.push_back(s);
  }
  std::string group;
  size_t i = 0;
  if (!seg.empty() && seg[0] == "api") {
    i = 2;
  } else if (seg.size() >= 3 && seg[0] == "apis") {
    group = seg[1];
    i = 3;
  } else {
    return {method, path};
  }
  std::vector<std::string> rest(seg.begin() + std::min(i, seg.size()), seg.end());
  if (rest.size() >= 3 && rest[0] == "namespaces") rest.erase(rest.begin(), rest.begin() + 2);
  std::string resource = rest.empty() ? path : rest[0];
  if (rest.size() >= 3) resource += "/" + rest[2];  // subresource
  if (!group.empty()) resource += "." + group;
  bool named = rest.size() >= 2;
  std::string verb;
  if (method == "GET") {
    verb = watch ? "watch" : (named ? "get" : "list");
  } else if (method == "POST") {
    verb = "create";
  } else if (method == "PUT") {
    verb = "update";
  } else if (method == "PATCH") {
    verb = "patch";
  } else if (method == "DELETE") {
    verb = named ? "delete" : "deletecollection";
  } else {
    verb = method;
  }
  return {verb, resource};
}

Error http_error(int code, const std::string& method, const std::string& path,
                 const std::string& body) {
  std::string reason(http_status_reason(code));
  if (reason.empty()) reason = "Unknown";
  std::string message;
  json st = json::parse(body, nullptr, false);
  if (!st.is_discarded() && st.is_object() && st.value("kind", "") == "Status") {
    reason = st.value("reason", reason);
    message = st.value("message", "");
  } else {
    message = trim(body.substr(0, 512));
  }
  if (code == 401 || code == 403) {
    auto [verb, resource] = verb_and_resource(method, path);
    std::string what = code == 401 ? "unauthorized" : "forbidden";
    message = what + ": cannot " + verb + " " + resource + " (verb " + verb + ")" +
              (message.empty() ? "" : ": " + message);
  }
  if (message.empty()) message = method + " " + path;
  return Error{"HTTP " + std::to_string(code) + " " + reason + ": " + message};
}

Error transport_error(const std::string& method, const std::string& path, const std::string& why) {
  return Error{"HTTP 0 Transport: " + method + " " + path + ": " + why};
}

std::string join_query(const std::string& path, const std::string& q) {
  return path + (path.find('?') == std::string::npos ? "?" : "&") + q;
}

}  // namespace

ApiError api_error(const Error& e) {
  ApiError out;
  const std::string& m = e.message;
  if (m.rfind("HTTP ", 0) != 0) {
    out.message = m;
    return out;
  }
  size_t sp1 = m.find(' ', 5);
  size_t colon = m.find(": ", 5);
  if (sp1 == std::string::npos || colon == std::string::npos || colon < sp1) {
    out.message = m;
    return out;
  }
  out.code = std::atoi(m.substr(5, sp1 - 5).c_str());
  out.reason = m.substr(sp1 + 1, colon - sp1 - 1);
  out.message = m.substr(colon + 2);
  return out;
}

void StopSignal::request_stop() {
  stop_.store(true, std::memory_order_release);
  std::lock_guard lock(mu_);
  if (hook_) hook_();
}

void StopSignal::set_hook(std::function<void()> hook) {
  std::lock_guard lock(mu_);
  hook_ = std::move(hook);
  if (stop_requested() && hook_) hook_();
}

void StopSignal::clear_hook() {
  std::lock_guard lock(mu_);
  hook_ = nullptr;
}

namespace {
struct Creds {
  std::string token;
  std::string cert_pem;
  std::string key_pem;
  uint64_t generation = 0;  // bumps when the client certificate changes (pooled TLS is stale)
};
}  // namespace

struct Client::Impl {
  const ClientConfig* cfg = nullptr;
  std::atomic<int>* exec_runs = nullptr;
  ServerAddr addr;

  std::mutex creds_mu;
  Creds creds;
  Clock::time_point token_read_at{};
  std::optional<std::chrono::system_clock::time_point> exec_expiry;
  bool exec_valid = false;

  std::mutex pool_mu;
  std::vector<std::pair<uint64_t, std::unique_ptr<httplib::ClientImpl>>> pool;

  Result<Creds> current_creds(bool force);
  Result<nlohmann::json> request(const std::string& method, const std::string& path,
                                 const std::string* body, const std::string& content_type);
};

Client::Client(ClientConfig config) : config_(std::move(config)), impl_(std::make_unique<Impl>()) {
  impl_->cfg = &config_;
  impl_->exec_runs = &exec_runs_;
}
Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::create(ClientConfig config) {
  auto addr = parse_server(config.server);
  if (!addr) return addr.error();
  std::unique_ptr<Client> c(new Client(std::move(config)));
  c->impl_->addr = *addr;
  const ClientConfig& cfg = c->config_;
  if (!cfg.ca_pem.empty() && !store_from_pem(cfg.ca_pem)) {
    return Error{"certificate-authority: no PEM certificate found"};
  }
  if (!cfg.client_cert_pem.empty() || !cfg.client_key_pem.empty()) {
    if (!cert_from_pem(cfg.client_cert_pem))
      return Error{"client-certificate: not a PEM certificate"};
    if (!key_from_pem(cfg.client_key_pem)) return Error{"client-key: not a PEM private key"};
  }
  if (cfg.insecure_skip_tls_verify) {
    spdlog::warn(
        "event=insecure_skip_tls_verify server={} msg=\"the API server certificate is "
        "not verified\"",
        cfg.server);
  }
  c->impl_->creds.token = cfg.bearer_token;
  c->impl_->creds.cert_pem = cfg.client_cert_pem;
  c->impl_->creds.key_pem = cfg.client_key_pem;
  if (!cfg.token_file.empty()) {
    auto t = read_file(cfg.token_file);
    if (!t) return Error{"cannot read token file " + cfg.token_file};
    c->impl_->creds.token = trim(*t);
    c->impl_->token_read_at = Clock::now();
  }
  return c;
}

namespace {

struct ExecOutput {
  std::string token, cert_pem, key_pem;
  std::optional<std::chrono::system_clock::time_point> expiry;
};

Result<ExecOutput> run_exec(const ExecConfig& exec) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Error{"exec plugin: pipe failed"};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);

  std::vector<std::string> argv_s{exec.command};
  argv_s.insert(argv_s.end(), exec.args.begin(), exec.args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : exec.env) env[k] = v;
  json info = {{"apiVersion", exec.api_version},
               {"kind", "ExecCredential"},
               {"spec", {{"interactive", false}}}};
  env["KUBERNETES_EXEC_INFO"] = info.dump();
  std::vector<std::string> envp_s;
  for (const auto& [k, v] : env) envp_s.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : envp_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = 0;
  int rc = posix_spawnp(&pid, exec.command.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return Error{"exec plugin " + exec.command + ": " + std::strerror(rc)};
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Error{"exec plugin " + exec.command + " failed (exit status " +
                 std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")"};
  }
  json cred = json::parse(out, nullptr, false);
  if (cred.is_discarded() || !cred.is_object() || cred.value("kind", "") != "ExecCredential" ||
      !cred.contains("status") || !cred["status"].is_object()) {
    return Error{"exec plugin " + exec.command + " did not print an ExecCredential"};
  }
  const json& st = cred["status"];
  ExecOutput o;
  o.token = st.value("token", "");
  o.cert_pem = st.value("clientCertificateData", "");
  o.key_pem = st.value("clientKeyData", "");
  if (o.token.empty() && (o.cert_pem.empty() || o.key_pem.empty())) {
    return Error{"exec plugin " + exec.command +
                 ": ExecCredential has neither token nor "
                 "client certificate"};
  }
  if (auto ts = st.value("expirationTimestamp", ""); !ts.empty()) {
    o.expiry = parse_rfc3339(ts);
    if (!o.expiry) return Error{"exec plugin: bad expirationTimestamp " + ts};
  }
  return o;
}

}  // namespace

// Current credentials; refreshes the token file or re-runs the exec plugin when due or forced
// (after a 401). Serialised by creds_mu so that concurrent requests run the plugin once.
Result<Creds> Client::Impl::current_creds(bool force) {
  const ClientConfig& cfg = *this->cfg;
  Impl& im = *this;
  std::lock_guard lock(im.creds_mu);
  if (!cfg.token_file.empty() && (force || Clock::now() - im.token_read_at >= cfg.token_reread)) {
    if (auto t = read_file(cfg.token_file)) {
      im.creds.token = trim(*t);
    } else {
      spdlog::warn("event=token_reread_failed file={}", cfg.token_file);
    }
    im.token_read_at = Clock::now();
  }
  if (cfg.exec) {
    bool expired = im.exec_expiry && std::chrono::system_clock::now() >= *im.exec_expiry;
    if (force || !im.exec_valid || expired) {
      auto out = run_exec(*cfg.exec);
      exec_runs->fetch_add(1);
      if (!out) {
        im.exec_valid = false;
        return out.error();
      }
      spdlog::debug("event=exec_credential command={} expires={}", cfg.exec->command,
                    out->expiry ? "yes" : "never");
      bool cert_changed = out->cert_pem != im.creds.cert_pem || out->key_pem != im.creds.key_pem;
      if (!out->token.empty()) im.creds.token = out->token;
      if (!out->cert_pem.empty()) {
        im.creds.cert_pem = out->cert_pem;
        im.creds.key_pem = out->key_pem;
      }
      if (cert_changed) ++im.creds.generation;
      im.exec_expiry = out->expiry;
      im.exec_valid = true;
    }
  }
  return im.creds;
}

namespace {

std::unique_ptr<httplib::ClientImpl> make_http_client(const ClientConfig& cfg,
                                                      const ServerAddr& addr, const Creds& creds,
                                                      std::string* err) {
  std::unique_ptr<httplib::ClientImpl> cli;
  if (addr.tls) {
    std::unique_ptr<httplib::SSLClient> ssl;
    if (!creds.cert_pem.empty()) {
      X509Ptr cert = cert_from_pem(creds.cert_pem);
      PkeyPtr key = key_from_pem(creds.key_pem);
      if (!cert || !key) {
        *err = "client certificate or key does not parse";
        return nullptr;
      }
      ssl = std::make_unique<httplib::SSLClient>(addr.host, addr.port, cert.get(), key.get());
    } else {
      ssl = std::make_unique<httplib::SSLClient>(addr.host, addr.port);
    }
    if (!ssl->is_valid()) {
      *err = "TLS client setup failed";
      return nullptr;
    }
    if (cfg.insecure_skip_tls_verify) {
      ssl->enable_server_certificate_verification(false);
    } else {
      ssl->enable_server_certificate_verification(true);
      if (!cfg.ca_pem.empty()) ssl->set_ca_cert_store(store_from_pem(cfg.ca_pem).release());
    }
    cli = std::move(ssl);
  } else {
    cli = std::make_unique<httplib::ClientImpl>(addr.host, addr.port);
  }
  cli->set_tcp_nodelay(true);
  cli->set_keep_alive(true);
  auto to_sec_usec = [](std::chrono::milliseconds ms) {
    return std::pair<time_t, time_t>(ms.count() / 1000, (ms.count() % 1000) * 1000);
  };
  auto [cs, cu] = to_sec_usec(cfg.connect_timeout);
  cli->set_connection_timeout(cs, cu);
  auto [rs, ru] = to_sec_usec(cfg.request_timeout);
  cli->set_read_timeout(rs, ru);
  cli->set_write_timeout(rs, ru);
  return cli;
}

httplib::Headers base_headers(const ClientConfig& cfg, const std::string& token) {
  httplib::Headers h{{"Accept", "application/json"}, {"User-Agent", cfg.user_agent}};
  if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
  return h;
}

}  // namespace

// One request with one retry after a 401 when credentials can be refreshed.
Result<json> Client::Impl::request(const std::string& method, const std::string& path,
                                   const std::string* body, const std::string& content_type) {
  const ClientConfig& cfg = *this->cfg;
  Impl& im = *this;
  bool refreshable = cfg.exec.has_value() || !cfg.token_file.empty();
  // A pooled keep-alive connection the server has meanwhile closed fails on first use; such a
  // request is sent once more on a fresh connection (not POST: it may have been applied).
  bool stale_retry_left = method != "POST";
  bool refreshed = false;  // credentials re-read once after a 401
  bool force_refresh = false;
  for (;;) {
    auto creds = current_creds(force_refresh);
    force_refresh = false;
    if (!creds) return transport_error(method, path, creds.error().message);
    std::unique_ptr<httplib::ClientImpl> cli;
    {
      std::lock_guard lock(im.pool_mu);
      while (!im.pool.empty()) {
        auto entry = std::move(im.pool.back());
        im.pool.pop_back();
        if (entry.first == creds->generation) {
          cli = std::move(entry.second);
          break;
        }
      }
    }
    bool pooled = cli != nullptr;
    if (!cli) {
      std::string err;
      cli = make_http_client(cfg, im.addr, *creds, &err);
      if (!cli) return transport_error(method, path, err);
    }
    httplib::Headers h = base_headers(cfg, creds->token);
    httplib::Result res{nullptr, httplib::Error::Unknown};
    std::string received;  // GET bodies: lists run to megabytes, so sized once, not grown
    if (method == "GET") {
      res = cli->Get(
          path.c_str(), h,
          [&](const httplib::Response& r) {
            size_t length = static_cast<size_t>(
                std::strtoull(r.get_header_value("Content-Length").c_str(), nullptr, 10));
            received.reserve(std::min<size_t>(length, size_t{256} << 20));
            return true;
          },
          [&](const char* data, size_t n) {
            received.append(data, n);
            return true;
          });
      if (res) res->body = std::move(received);
    } else if (method == "POST") {
      res = cli->Post(path.c_str(), h, *body, content_type.c_str());
    } else if (method == "PUT") {
      res = cli->Put(path.c_str(), h, *body, content_type.c_str());
    } else if (method == "PATCH") {
      res = cli->Patch(path.c_str(), h, *body, content_type.c_str());
    } else {
      res = cli->Delete(path.c_str(), h);
    }
    if (!res && pooled && stale_retry_left &&
        (res.error() == httplib::Error::Read || res.error() == httplib::Error::Write)) {
      stale_retry_left = false;
      continue;
    }
    if (!res) {
      std::string why = httplib::to_string(res.error());
      if (im.addr.tls && res.error() == httplib::Error::SSLServerVerification) {
        why += " (the API server certificate is not signed by the configured CA)";
      }
      return transport_error(method, path, why);
    }
    {
      std::lock_guard lock(im.pool_mu);
      if (im.pool.size() < 8) im.pool.emplace_back(creds->generation, std::move(cli));
    }
    int code = res->status;
    if (code == 401 && refreshable && !refreshed) {
      refreshed = true;
      force_refresh = true;
      spdlog::info("event=credentials_refresh reason=unauthorized path={}", path);
      continue;
    }
    if (code < 200 || code >= 300) return http_error(code, method, path, res->body);
    if (res->body.empty()) return json::object();
    // List pages are most of what the cache reads at start: the faster reader (json_reader.h).
    json doc;
    if (ReadResult r = read_json(res->body, doc); !r) {
      return transport_error(method, path, "response is not JSON" + at_byte(r));
    }
    return doc;
  }
}

Result<json> Client::get(const std::string& path) {
  return impl_->request("GET", path, nullptr, "");
}

Result<json> Client::list(const std::string& path, int limit, const std::string& cont) {
  std::string p = path;
  if (limit > 0) p = join_query(p, "limit=" + std::to_string(limit));
  if (!cont.empty()) p = join_query(p, "continue=" + httplib::detail::encode_query_param(cont));
  return impl_->request("GET", p, nullptr, "");
}

Result<json> Client::create(const std::string& path, const json& body) {
  std::string b = body.dump();
  return impl_->request("POST", path, &b, "application/json");
}

Result<json> Client::update(const std::string& path, const json& body) {
  std::string b = body.dump();
  return impl_->request("PUT", path, &b, "application/json");
}

Result<json> Client::patch(const std::string& path, const json& patch, PatchType type) {
  std::string b = patch.dump();
  return impl_->request(
      "PATCH", path, &b,
      type == PatchType::kJson ? "application/json-patch+json" : "application/merge-patch+json");
}

Result<json> Client::del(const std::string& path) {
  return impl_->request("DELETE", path, nullptr, "");
}

Status Client::watch(const std::string& path, const std::string& resource_version,
                     const std::function<bool(WatchEvent&&)>& on_event, StopSignal& stop,
                     int timeout_seconds) {
  std::string p = join_query(path, "watch=1&allowWatchBookmarks=true");
  if (!resource_version.empty()) p += "&resourceVersion=" + resource_version;
  if (timeout_seconds > 0) p += "&timeoutSeconds=" + std::to_string(timeout_seconds);
  if (stop.stop_requested()) return Ok{};

  auto creds = impl_->current_creds(false);
  if (!creds) return transport_error("GET", p, creds.error().message);
  std::string err;
  std::shared_ptr<httplib::ClientImpl> cli = make_http_client(config_, impl_->addr, *creds, &err);
  if (!cli) return transport_error("GET", p, err);
  // The server ends a quiet watch at timeoutSeconds and sends bookmarks about once a minute;
  // allow a generous margin before calling the connection dead.
  cli->set_read_timeout(std::max(timeout_seconds, 60) + 60, 0);
  cli->set_keep_alive(false);
  std::weak_ptr<httplib::ClientImpl> weak = cli;
  stop.set_hook([weak] {
    if (auto c = weak.lock()) c->stop();
  });

  int status = 0;
  std::string buffer;  // partial line, or the error body when status != 200
  bool caller_ended = false;
  std::string bad_event;  // what was wrong with the event that ended the stream
  auto res = cli->Get(
      p.c_str(), base_headers(config_, creds->token),
      [&](const httplib::Response& r) {
        status = r.status;
        return true;
      },
      [&](const char* data, size_t len) {
        if (stop.stop_requested()) return false;
        if (status != 200) {
          if (buffer.size() < 64 * 1024) buffer.append(data, len);
          return true;
        }
        buffer.append(data, len);
        size_t start = 0;
        for (size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
          std::string_view line(buffer.data() + start, nl - start);
          if (line.empty() || line == "\r") continue;
          json ev;
          if (ReadResult r = read_json(line, ev); !r) {
            bad_event = "not JSON" + at_byte(r);
            return false;
          }
          if (!ev.is_object() || !ev.contains("type") || !ev["type"].is_string()) {
            bad_event = "no \"type\" string";
            return false;
          }
          WatchEvent we{ev["type"].get<std::string>(), std::move(ev["object"])};
          if (!on_event(std::move(we))) {
            caller_ended = true;
            return false;
          }
        }
        buffer.erase(0, start);
        return true;
      });
  stop.clear_hook();
  if (stop.stop_requested() || caller_ended) return Ok{};
  if (!bad_event.empty()) {
    return transport_error("GET", p, "watch stream carried a malformed event: " + bad_event);
  }
  if (status != 0 && status != 200) {
    if (status == 401) {
      std::lock_guard lock(impl_->creds_mu);
      impl_->exec_valid = false;  // the next request re-runs the plugin
      impl_->token_read_at = {};
    }
    return http_error(status, "GET", p, buffer);
  }
  if (!res) {
    return transport_error("GET", p, "watch connection lost: " + httplib::to_string(res.error()));
  }
  return Ok{};
}

Result<std::set<GroupVersionResource>> Client::discover(const std::set<std::string>& groups) {
  std::set<GroupVersionResource> out;
  auto add_list = [&](const std::string& group, const std::string& gv_path) -> Status {
    auto rl = get(gv_path);
    if (!rl) return rl.error();
    std::string gv = rl->value("groupVersion", "");
    std::string version = gv.substr(gv.find('/') == std::string::npos ? 0 : gv.find('/') + 1);
    for (const auto& r : rl->value("resources", json::array())) {
      std::string name = r.value("name", "");
      if (name.empty() || name.find('/') != std::string::npos) continue;
      out.insert({group, version, name});
    }
    return Ok{};
  };
  if (groups.empty() || groups.count("")) {
    auto st = add_list("", "/api/v1");
    if (!st) return st.error();
  }
  auto gl = get("/apis");
  if (!gl) return gl.error();
  for (const auto& g : gl->value("groups", json::array())) {
    std::string name = g.value("name", "");
    if (!groups.empty() && !groups.count(name)) continue;
    for (const auto& v : g.value("versions", json::array())) {
      std::string gv = v.value("groupVersion", "");
      auto st = add_list(name, "/apis/" + gv);
      if (!st) {
        // An aggregated API that is down must not hide the others.
        spdlog::warn("event=discovery_failed group_version={} msg=\"{}\"", gv, st.error().message);
      }
    }
  }
  return out;
}

}  // namespace latticeguard::kube
