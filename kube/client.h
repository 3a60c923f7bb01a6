// Kubernetes API client: configuration loading (in-cluster, kubeconfig, exec credential plugins)
// and JSON requests over HTTPS, including streaming watches.
//
//   auto cfg = load_kubeconfig({}, "");             // KUBECONFIG or ~/.kube/config
//   auto client = Client::create(*cfg);
//   auto svc = (*client)->get("/api/v1/namespaces/default/services/kubernetes");
//   if (!svc) spdlog::warn("msg={}", svc.error().message);   // "HTTP 404 NotFound: ..."
//
// Errors from the API server carry the Status message prefixed with "HTTP <code> <reason>: ";
// api_error() turns an Error back into {code, reason, message}. 401 and 403 messages name the verb
// and the resource ("forbidden: cannot list httproutes.gateway.networking.k8s.io (verb list)").
//
// Thread safety: a Client may be used by any number of threads at once; each request takes its
// own connection from a small pool, and a watch holds a dedicated connection until it ends.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "rules/core/result.h"

namespace latticeguard::kube {

// `users[].user.exec` of a kubeconfig (client.authentication.k8s.io v1 or v1beta1).
struct ExecConfig {
  std::string command;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::string api_version = "client.authentication.k8s.io/v1beta1";
};

struct ClientConfig {
  std::string server;  // https://host:port (http:// allowed for local development)
  std::string ca_pem;
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string bearer_token;
  std::string token_file;  // re-read every token_reread (projected tokens rotate)
  bool insecure_skip_tls_verify = false;
  std::optional<ExecConfig> exec;
  std::chrono::seconds token_reread{60};
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds connect_timeout{5000};
  std::string user_agent = "latticeguard/0.1.0";
};

// Where the in-cluster files and variables are; tests point these elsewhere.
struct InClusterPaths {
  std::string token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::string ca_file = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
  std::string host_env = "KUBERNETES_SERVICE_HOST";
  std::string port_env = "KUBERNETES_SERVICE_PORT";
};

Result<ClientConfig> load_in_cluster(const InClusterPaths& paths = {});

// `paths` empty: $KUBECONFIG split on ':' or ~/.kube/config. Several files merge the kubectl
// way: the first file to set a map entry (cluster/user/context name) or current-context wins.
// `context` empty: current-context.
Result<ClientConfig> load_kubeconfig(const std::vector<std::string>& paths,
                                     const std::string& context);

// YAML text (one document) -> JSON; exposed for tests and other YAML-shaped configs.
Result<nlohmann::json> yaml_to_json(const std::string& text);

struct ApiError {
  int code = 0;  // 0 = no HTTP answer (connection, TLS, timeout)
  std::string reason;
  std::string message;
};
// Parses the "HTTP <code> <reason>: " prefix the Client puts on its errors.
ApiError api_error(const Error& e);
inline bool is_not_found(const Error& e) { return api_error(e).code == 404; }
inline bool is_conflict(const Error& e) { return api_error(e).code == 409; }
inline bool is_gone(const Error& e) { return api_error(e).code == 410; }

// Cooperative cancellation for watch(): request_stop() also closes the watch connection, so a
// watch blocked waiting for the next event returns promptly.
class StopSignal {
 public:
  void request_stop();
  bool stop_requested() const { return stop_.load(std::memory_order_acquire); }
  void reset() { stop_.store(false, std::memory_order_release); }
  // Used by Client: `hook` runs on request_stop() while registered (and at once if stopped).
  void set_hook(std::function<void()> hook);
  void clear_hook();

 private:
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::function<void()> hook_;
};

struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK, ERROR
  nlohmann::json object;
};

struct GroupVersionResource {
  std::string group;
  std::string version;
  std::string resource;
  auto operator<=>(const GroupVersionResource&) const = default;
};

enum class PatchType { kJson, kMerge };

class Client {
 public:
  static Result<std::unique_ptr<Client>> create(ClientConfig config);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Result<nlohmann::json> get(const std::string& path);
  // One page; `limit` 0 = no limit. The answer's metadata.continue names the next page.
  Result<nlohmann::json> list(const std::string& path, int limit, const std::string& cont);
  Result<nlohmann::json> create(const std::string& path, const nlohmann::json& body);  // POST
  Result<nlohmann::json> update(const std::string& path, const nlohmann::json& body);  // PUT
  Result<nlohmann::json> patch(const std::string& path, const nlohmann::json& patch,
                               PatchType type);
  Result<nlohmann::json> del(const std::string& path);

  // Streams `path?watch=1&resourceVersion=..&allowWatchBookmarks=true&timeoutSeconds=..` and calls
  // on_event per event, in order; on_event returning false ends the watch. Returns Ok when the
  // server closes the stream cleanly (timeout) or the caller stops; an Error when the request
  // fails (HTTP status) or the connection breaks mid-stream. An ERROR event is delivered to
  // on_event like any other; the caller decides (410 = relist).
  Status watch(const std::string& path, const std::string& resource_version,
               const std::function<bool(WatchEvent&&)>& on_event, StopSignal& stop,
               int timeout_seconds = 300);

  // Which group/version/resources the server serves (no subresources). `groups` non-empty
  // restricts the per-group requests to those groups ("" = core).
  Result<std::set<GroupVersionResource>> discover(const std::set<std::string>& groups = {});

  // Number of times an exec credential plugin ran (metrics, tests).
  int exec_runs() const { return exec_runs_.load(); }

 private:
  struct Impl;
  explicit Client(ClientConfig config);
  ClientConfig config_;
  std::unique_ptr<Impl> impl_;
  std::atomic<int> exec_runs_{0};
};

}  // namespace latticeguard::kube
