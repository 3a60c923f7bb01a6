// FakeApiServer: an in-process kube-apiserver stand-in over TLS on 127.0.0.1, shaped after real
// v1.28 responses (../shared/corpus/apiserver-captures): discovery, paginated lists whose built-in
// items carry no kind/apiVersion, chunked watch streams with bookmarks and the 410 ERROR event,
// Status bodies for 401/403/404/409/410/415/422, and create/update/patch/delete with
// resourceVersion checks for any registered resource (Leases, PolicyReports, Secrets, webhook
// configurations, the cached kinds).
//
//   FakeApiServer api;                   // self-signed certificate for 127.0.0.1
//   api.add_object(service_json);        // preload (also emits a watch event)
//   ASSERT_TRUE(api.start());
//   ClientConfig cfg{.server = api.url(), .ca_pem = api.ca_pem()};
//   api.forbid("list", "gateway.networking.k8s.io", "httproutes");   // faults, any time
//
// Thread safety: every method may be called from any thread while the server runs.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "rules/core/result.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace latticeguard::kube::testing {

struct FakeResource {
  std::string group;
  std::string version;
  std::string resource;
  std::string kind;
  bool namespaced = true;
  bool custom = false;  // CRD: list items keep kind/apiVersion, DELETE answers a Status
};

class FakeApiServer {
 public:
  // Registers the built-ins (namespaces, services, pods, secrets, deployments, statefulsets,
  // daemonsets, leases, webhook configurations) and every CRD the project reads or writes
  // (Gateway API, application-networking.k8s.aws, wgpolicyk8s.io).
  FakeApiServer();
  ~FakeApiServer();

  Status start(int port = 0);
  void stop();
  Status restart();  // stop, then listen again on the same port; objects and RVs survive
  int port() const { return port_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  const std::string& ca_pem() const { return cert_pem_; }  // self-signed: the cert is the CA

  // ---- data ----
  void register_resource(const FakeResource& r);
  void unregister_resource(const std::string& group, const std::string& resource);  // CRD gone
  // Create or replace (ADDED/MODIFIED event); the object needs apiVersion, kind, metadata.name.
  nlohmann::json add_object(nlohmann::json obj);
  bool delete_object(const std::string& group, const std::string& resource, const std::string& ns,
                     const std::string& name);
  std::optional<nlohmann::json> get_object(const std::string& group, const std::string& resource,
                                           const std::string& ns, const std::string& name) const;
  uint64_t resource_version() const;

  // ---- faults ----
  void forbid(const std::string& verb, const std::string& group, const std::string& resource);
  void allow_all();
  // Bearer tokens accepted; empty = authentication off. Missing token -> 403 system:anonymous,
  // wrong token -> 401.
  void require_tokens(std::set<std::string> tokens);
  void drop_watches();  // every open watch ends mid-stream (no terminating chunk)
  void expire_next_watch(const std::string& group, const std::string& resource);  // ERROR 410
  // The next `verb` (get, list, watch) of group/resource answers 200 with `text` as its body, as
  // a proxy's error page or a cut-off response would: a watch sends it as one line, then ends.
  void garble_next(const std::string& verb, const std::string& group, const std::string& resource,
                   std::string text);
  // Forget history up to now: watches from older RVs get the 410 ERROR event, older continue
  // tokens a 410 Gone.
  void compact();
  void set_latency(std::chrono::milliseconds latency);
  void set_bookmark_interval(std::chrono::milliseconds interval);
  // How often a quiet watch wakes to notice a client that went away (new events, drops and
  // stop wake it at once). Tests keep the short default; a benchmark that holds dozens of
  // watches open lengthens it so the fake server does not compete for the CPU it measures.
  void set_watch_poll_interval(std::chrono::milliseconds interval);

  // ---- observation ----
  // "GET /api/v1/services?limit=500", in arrival order.
  std::vector<std::string> requests() const;
  int count_requests(const std::string& prefix) const;
  int open_watches() const { return open_watches_.load(); }

 private:
  struct Event {
    uint64_t rv;
    std::string key;  // group/resource
    std::string type;
    nlohmann::json object;
  };
  struct Route;

  void handle(const httplib::Request& req, httplib::Response& res);
  void handle_discovery(const std::vector<std::string>& seg, httplib::Response& res);
  void handle_watch(const Route& r, const httplib::Request& req, httplib::Response& res);
  void handle_list(const Route& r, const httplib::Request& req, httplib::Response& res);
  nlohmann::json store_locked(nlohmann::json obj, const FakeResource& r, const char* type);
  const FakeResource* find_resource_locked(const std::string& group, const std::string& version,
                                           const std::string& resource) const;

  std::string cert_pem_;
  std::string key_pem_;
  int port_ = 0;
  std::unique_ptr<httplib::Server> server_;
  std::thread listener_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<FakeResource> resources_;
  std::map<std::string, std::map<std::string, nlohmann::json>> objects_;  // key -> ns/name -> obj
  std::vector<Event> events_;
  uint64_t rv_ = 100;
  uint64_t compacted_rv_ = 0;
  uint64_t uid_seq_ = 0;
  std::set<std::string> forbidden_;  // verb group/resource
  std::set<std::string> tokens_;
  std::set<std::string> expire_next_;
  std::map<std::string, std::string> garbled_;  // "verb group/resource" -> body
  uint64_t drop_generation_ = 0;
  bool stopping_ = false;
  std::chrono::milliseconds latency_{0};
  std::chrono::milliseconds bookmark_interval_{1000};
  std::chrono::milliseconds watch_poll_interval_{50};
  std::vector<std::string> requests_;
  std::atomic<int> open_watches_{0};
};

}  // namespace latticeguard::kube::testing
