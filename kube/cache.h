// Watch cache: keeps a copy of the kinds the rules read by LIST + WATCH, and hands every change
// to a CacheSink.
//
//   MapSink sink;                       // or the engine's copy-on-write index
//   Cache cache(client, sink);
//   if (auto st = cache.start(); !st) fail(st.error().message);   // discovery failed
//   cache.wait_synced(30s);  ...  cache.stop();
//
// Per kind: a paginated LIST, then a WATCH from the list's resourceVersion with bookmarks; a 410
// (HTTP or ERROR event) relists, a broken connection re-watches from the last seen
// resourceVersion after a capped, jittered exponential backoff. Kinds whose CRD is not served are
// reported unavailable once and skipped. Objects are stripped before they reach the sink (no
// managedFields, status, last-applied annotation; workloads keep only selector, labels, ports and
// probes) and carry apiVersion/kind even when the list items did not.
//
// Thread safety: one thread per watched kind calls the sink, so sink methods are called
// concurrently for different kinds (never concurrently for one kind). start/stop from one thread;
// synced_all/stats from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "kube/client.h"
#include "rules/core/result.h"

namespace latticeguard::kube {

struct ResourceType {
  std::string group;
  std::string version;
  std::string resource;  // plural, as in the URL
  std::string kind;
  bool namespaced = true;
  std::string api_version() const { return group.empty() ? version : group + "/" + version; }
  // Collection path across all namespaces: /api/v1/services, /apis/apps/v1/deployments.
  std::string path() const;
};

// Namespaces, Services, Deployments, StatefulSets, DaemonSets, the Gateway API kinds and the
// application-networking.k8s.aws kinds.
const std::vector<ResourceType>& default_resources();
const ResourceType& pod_resource();

// Removes what the rules never read, in place, and sets apiVersion/kind.
void strip_object(nlohmann::json& obj, const ResourceType& type);

class CacheSink {
 public:
  virtual ~CacheSink() = default;
  // After every (re)list: the complete set of objects of the kind.
  virtual void replace_kind(const std::string& group, const std::string& kind,
                            std::vector<nlohmann::json> objects) = 0;
  virtual void upsert(nlohmann::json obj) = 0;
  virtual void remove(const std::string& group, const std::string& kind, const std::string& ns,
                      const std::string& name) = 0;
  virtual void set_synced(const std::string& group, const std::string& kind, bool synced) = 0;
  virtual void set_available(const std::string& group, const std::string& kind, bool available) = 0;

  // A (re)list as it arrives, page by page: begin_list, add_listed for each object, then
  // commit_list (never reached when the list fails; the next begin_list starts over). The
  // default gathers the objects and hands them to replace_kind; a sink that converts each one
  // as it comes overrides all three and never holds a whole kind's JSON at once. The calls for
  // one kind come from one thread; different kinds from different threads.
  virtual void begin_list(const std::string& group, const std::string& kind);
  virtual void add_listed(const std::string& group, const std::string& kind, nlohmann::json obj);
  virtual void commit_list(const std::string& group, const std::string& kind);

 protected:
  // Removes and returns the list in progress under `key` (empty when there is none).
  template <class Map>
  static typename Map::mapped_type take(Map& lists, const typename Map::key_type& key) {
    typename Map::mapped_type out;
    if (auto it = lists.find(key); it != lists.end()) {
      out = std::move(it->second);
      lists.erase(it);
    }
    return out;
  }

 private:
  std::mutex pending_mu_;
  std::map<std::pair<std::string, std::string>, std::vector<nlohmann::json>> pending_;
};

// A mutex and a map; fine for tests and one-shot tools, not for the admission path.
class MapSink : public CacheSink {
 public:
  using Key = std::tuple<std::string, std::string, std::string, std::string>;  // group kind ns name

  void replace_kind(const std::string& group, const std::string& kind,
                    std::vector<nlohmann::json> objects) override;
  void upsert(nlohmann::json obj) override;
  void remove(const std::string& group, const std::string& kind, const std::string& ns,
              const std::string& name) override;
  void set_synced(const std::string& group, const std::string& kind, bool synced) override;
  void set_available(const std::string& group, const std::string& kind, bool available) override;

  std::optional<nlohmann::json> get(const std::string& group, const std::string& kind,
                                    const std::string& ns, const std::string& name) const;
  size_t count(const std::string& group, const std::string& kind) const;
  size_t size() const;
  std::optional<bool> synced(const std::string& group, const std::string& kind) const;
  std::optional<bool> available(const std::string& group, const std::string& kind) const;
  int replace_calls(const std::string& group, const std::string& kind) const;

 private:
  mutable std::mutex mu_;
  std::map<Key, nlohmann::json> objects_;
  std::map<std::pair<std::string, std::string>, bool> synced_, available_;
  std::map<std::pair<std::string, std::string>, int> replaces_;
};

struct CacheOptions {
  std::vector<ResourceType> resources = default_resources();
  bool include_pods = false;
  // Objects per LIST page. Small pages keep little JSON alive per kind at a time while a large
  // cluster is listed (the sink converts each page as it comes); 100 objects is still a few
  // hundred kilobytes per request.
  int page_size = 100;
  // Each watch asks the server to end it after a random time in [t, 2t), like client-go, so
  // that reconnects of many replicas do not line up.
  int watch_timeout_seconds = 300;
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{30000};
};

struct KindStats {
  std::string group;
  std::string kind;
  bool available = false;
  bool synced = false;
  uint64_t objects = 0;
  uint64_t lists = 0;           // successful LISTs, the first included
  uint64_t relists = 0;         // LISTs after the first (410, errors)
  uint64_t watch_restarts = 0;  // watches that ended and were started again
  uint64_t events = 0;
  std::string resource_version;
  std::string last_error;
};

class Cache {
 public:
  Cache(Client& client, CacheSink& sink, CacheOptions options = {});
  ~Cache();
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  // Discovers which kinds are served, then starts a list/watch thread per served kind.
  Status start();
  void stop();
  // Every available kind has completed its first list.
  bool synced_all() const;
  bool wait_synced(std::chrono::milliseconds timeout) const;
  std::vector<KindStats> stats() const;

 private:
  struct Kind;
  void run(Kind& k);
  Result<std::string> list_all(Kind& k);
  bool sleep_for(std::chrono::milliseconds d);
  void set_error(Kind& k, const std::string& message);

  Client& client_;
  CacheSink& sink_;
  CacheOptions options_;
  std::vector<std::unique_ptr<Kind>> kinds_;
  std::vector<std::thread> threads_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool stopping_ = false;
};

}  // namespace latticeguard::kube
