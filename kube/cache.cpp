#include "kube/cache.h"

#include <spdlog/spdlog.h>

#include <random>

namespace latticeguard::kube {
namespace {

using json = nlohmann::json;

constexpr const char* kGatewayGroup = "gateway.networking.k8s.io";
constexpr const char* kLatticeGroup = "application-networking.k8s.aws";

// Container fields the rules read: which container owns a port, and its probes.
void prune_containers(json& spec, const char* field) {
  if (!spec.contains(field) || !spec[field].is_array()) return;
  static const char* kKeep[] = {"name",          "ports",        "readinessProbe",
                                "livenessProbe", "startupProbe", "restartPolicy"};
  for (auto& c : spec[field]) {
    if (!c.is_object()) continue;
    json kept = json::object();
    for (const char* k : kKeep) {
      if (auto it = c.find(k); it != c.end()) kept[k] = std::move(*it);
    }
    c = std::move(kept);
  }
}

void prune_pod_spec(json& pod_spec) {
  if (!pod_spec.is_object()) return;
  json kept = json::object();
  for (const char* f : {"containers", "initContainers"}) {
    if (auto it = pod_spec.find(f); it != pod_spec.end()) {
      kept[f] = std::move(*it);
      prune_containers(kept, f);
    }
  }
  pod_spec = std::move(kept);
}

void prune_metadata(json& md) {
  if (!md.is_object()) return;
  // creationTimestamp stays: policy-conflict keeps the oldest of several policies, as the
  // controller does.
  for (const char* f : {"managedFields", "generation", "selfLink", "generateName", "finalizers"}) {
    md.erase(f);
  }
  if (auto a = md.find("annotations"); a != md.end() && a->is_object()) {
    a->erase("kubectl.kubernetes.io/last-applied-configuration");
    if (a->empty()) md.erase(a);
  }
}

}  // namespace

std::string ResourceType::path() const {
  return (group.empty() ? "/api/" + version : "/apis/" + group + "/" + version) + "/" + resource;
}

const std::vector<ResourceType>& default_resources() {
  static const std::vector<ResourceType> kTable = {
      {"", "v1", "namespaces", "Namespace", false},
      {"", "v1", "services", "Service", true},
      {"apps", "v1", "deployments", "Deployment", true},
      {"apps", "v1", "statefulsets", "StatefulSet", true},
      {"apps", "v1", "daemonsets", "DaemonSet", true},
      {kGatewayGroup, "v1", "gatewayclasses", "GatewayClass", false},
      {kGatewayGroup, "v1", "gateways", "Gateway", true},
      {kGatewayGroup, "v1", "httproutes", "HTTPRoute", true},
      {kGatewayGroup, "v1", "grpcroutes", "GRPCRoute", true},
      {kGatewayGroup, "v1alpha2", "tlsroutes", "TLSRoute", true},
      {kGatewayGroup, "v1beta1", "referencegrants", "ReferenceGrant", true},
      {kLatticeGroup, "v1alpha1", "targetgrouppolicies", "TargetGroupPolicy", true},
      {kLatticeGroup, "v1alpha1", "iamauthpolicies", "IAMAuthPolicy", true},
      {kLatticeGroup, "v1alpha1", "vpcassociationpolicies", "VpcAssociationPolicy", true},
      {kLatticeGroup, "v1alpha1", "accesslogpolicies", "AccessLogPolicy", true},
      {kLatticeGroup, "v1alpha1", "serviceexports", "ServiceExport", true},
      {kLatticeGroup, "v1alpha1", "serviceimports", "ServiceImport", true},
  };
  return kTable;
}

const ResourceType& pod_resource() {
  static const ResourceType kPod{"", "v1", "pods", "Pod", true};
  return kPod;
}

void strip_object(json& obj, const ResourceType& type) {
  if (!obj.is_object()) return;
  obj["apiVersion"] = type.api_version();
  obj["kind"] = type.kind;
  obj.erase("status");
  if (auto md = obj.find("metadata"); md != obj.end()) prune_metadata(*md);
  auto spec = obj.find("spec");
  if (spec == obj.end() || !spec->is_object()) return;
  if (type.kind == "Namespace") {
    obj.erase(spec);  // only finalizers
  } else if (type.kind == "Service") {
    // Allocation details (cluster IPs, IP families, policies) are not read by any rule.
    for (const char* f : {"clusterIPs", "ipFamilies", "ipFamilyPolicy", "internalTrafficPolicy",
                          "sessionAffinity"}) {
      spec->erase(f);
    }
    if (spec->value("clusterIP", "") != "None") spec->erase("clusterIP");  // keep "headless"
  } else if (type.kind == "Pod") {
    prune_pod_spec(*spec);
  } else if (type.group == "apps") {
    json kept = json::object();
    for (const char* f : {"selector", "replicas", "template"}) {
      if (auto it = spec->find(f); it != spec->end()) kept[f] = std::move(*it);
    }
    if (auto t = kept.find("template"); t != kept.end() && t->is_object()) {
      if (auto md = t->find("metadata"); md != t->end() && md->is_object()) {
        json m = json::object();
        if (md->contains("labels")) m["labels"] = std::move((*md)["labels"]);
        *md = std::move(m);
      }
      if (auto ps = t->find("spec"); ps != t->end()) prune_pod_spec(*ps);
    }
    *spec = std::move(kept);
  }
}

// ---- CacheSink ----

void CacheSink::begin_list(const std::string& group, const std::string& kind) {
  std::lock_guard lock(pending_mu_);
  pending_[{group, kind}].clear();
}

void CacheSink::add_listed(const std::string& group, const std::string& kind, nlohmann::json obj) {
  std::lock_guard lock(pending_mu_);
  pending_[{group, kind}].push_back(std::move(obj));
}

void CacheSink::commit_list(const std::string& group, const std::string& kind) {
  std::vector<nlohmann::json> objects;
  {
    std::lock_guard lock(pending_mu_);
    objects = take(pending_, {group, kind});
  }
  replace_kind(group, kind, std::move(objects));
}

// ---- MapSink ----

void MapSink::replace_kind(const std::string& group, const std::string& kind,
                           std::vector<json> objects) {
  std::lock_guard lock(mu_);
  for (auto it = objects_.begin(); it != objects_.end();) {
    if (std::get<0>(it->first) == group && std::get<1>(it->first) == kind) {
      it = objects_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& o : objects) {
    const json& md = o["metadata"];
    objects_[{group, kind, md.value("namespace", ""), md.value("name", "")}] = std::move(o);
  }
  ++replaces_[{group, kind}];
}

void MapSink::upsert(json obj) {
  std::string av = obj.value("apiVersion", "");
  std::string group = av.find('/') == std::string::npos ? "" : av.substr(0, av.find('/'));
  const json& md = obj["metadata"];
  Key key{group, obj.value("kind", ""), md.value("namespace", ""), md.value("name", "")};
  std::lock_guard lock(mu_);
  objects_[key] = std::move(obj);
}

void MapSink::remove(const std::string& group, const std::string& kind, const std::string& ns,
                     const std::string& name) {
  std::lock_guard lock(mu_);
  objects_.erase({group, kind, ns, name});
}

void MapSink::set_synced(const std::string& group, const std::string& kind, bool synced) {
  std::lock_guard lock(mu_);
  synced_[{group, kind}] = synced;
}

void MapSink::set_available(const std::string& group, const std::string& kind, bool available) {
  std::lock_guard lock(mu_);
  available_[{group, kind}] = available;
}

std::optional<json> MapSink::get(const std::string& group, const std::string& kind,
                                 const std::string& ns, const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = objects_.find({group, kind, ns, name});
  if (it == objects_.end()) return std::nullopt;
  return it->second;
}

size_t MapSink::count(const std::string& group, const std::string& kind) const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [k, v] : objects_) n += std::get<0>(k) == group && std::get<1>(k) == kind;
  return n;
}

size_t MapSink::size() const {
  std::lock_guard lock(mu_);
  return objects_.size();
}

std::optional<bool> MapSink::synced(const std::string& group, const std::string& kind) const {
  std::lock_guard lock(mu_);
  auto it = synced_.find({group, kind});
  return it == synced_.end() ? std::nullopt : std::optional<bool>(it->second);
}

std::optional<bool> MapSink::available(const std::string& group, const std::string& kind) const {
  std::lock_guard lock(mu_);
  auto it = available_.find({group, kind});
  return it == available_.end() ? std::nullopt : std::optional<bool>(it->second);
}

int MapSink::replace_calls(const std::string& group, const std::string& kind) const {
  std::lock_guard lock(mu_);
  auto it = replaces_.find({group, kind});
  return it == replaces_.end() ? 0 : it->second;
}

// ---- Cache ----

struct Cache::Kind {
  ResourceType type;
  StopSignal stop;
  KindStats stats;  // guarded by Cache::mu_
};

Cache::Cache(Client& client, CacheSink& sink, CacheOptions options)
    : client_(client), sink_(sink), options_(std::move(options)) {
  if (options_.include_pods) options_.resources.push_back(pod_resource());
}

Cache::~Cache() { stop(); }

Status Cache::start() {
  std::set<std::string> groups;
  for (const auto& r : options_.resources) groups.insert(r.group);
  auto served = client_.discover(groups);
  if (!served) return Error{"API discovery failed: " + served.error().message};
  for (const auto& r : options_.resources) {
    auto k = std::make_unique<Kind>();
    k->type = r;
    k->stats.group = r.group;
    k->stats.kind = r.kind;
    k->stats.available = served->count({r.group, r.version, r.resource}) > 0;
    sink_.set_available(r.group, r.kind, k->stats.available);
    sink_.set_synced(r.group, r.kind, false);
    if (!k->stats.available) {
      spdlog::warn(
          "event=kind_unavailable kind={} group_version={} msg=\"not served by the API "
          "server (CRD not installed?); rules reading it stay silent\"",
          r.kind, r.api_version());
    }
    kinds_.push_back(std::move(k));
  }
  for (auto& k : kinds_) {
    if (k->stats.available) threads_.emplace_back([this, kp = k.get()] { run(*kp); });
  }
  return Ok{};
}

void Cache::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& k : kinds_) k->stop.request_stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

bool Cache::synced_all() const {
  std::lock_guard lock(mu_);
  for (const auto& k : kinds_) {
    if (k->stats.available && !k->stats.synced) return false;
  }
  return true;
}

bool Cache::wait_synced(std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (synced_all()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return synced_all();
}

std::vector<KindStats> Cache::stats() const {
  std::lock_guard lock(mu_);
  std::vector<KindStats> out;
  for (const auto& k : kinds_) out.push_back(k->stats);
  return out;
}

bool Cache::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_; });
}

void Cache::set_error(Kind& k, const std::string& message) {
  std::lock_guard lock(mu_);
  k.stats.last_error = message;
}

Result<std::string> Cache::list_all(Kind& k) {
  // Objects go to the sink page by page, so a sink that converts them as they come never holds
  // a whole kind's JSON (tens of megabytes for 10,000 objects) at once.
  const std::string& g = k.type.group;
  const std::string& kind = k.type.kind;
  sink_.begin_list(g, kind);
  size_t n = 0;
  std::string cont, rv;
  for (;;) {
    auto page = client_.list(k.type.path(), options_.page_size, cont);
    if (!page) {
      // An expired continue token: start over for a consistent snapshot.
      if (is_gone(page.error()) && !cont.empty()) {
        sink_.begin_list(g, kind);
        n = 0;
        cont.clear();
        rv.clear();
        continue;
      }
      return page.error();
    }
    json& md = (*page)["metadata"];
    if (rv.empty()) rv = md.value("resourceVersion", "");
    if (auto it = page->find("items"); it != page->end() && it->is_array()) {
      for (auto& o : *it) {
        strip_object(o, k.type);
        sink_.add_listed(g, kind, std::move(o));
        ++n;
      }
    }
    cont = md.value("continue", "");
    if (cont.empty()) break;
  }
  sink_.commit_list(g, kind);
  std::lock_guard lock(mu_);
  k.stats.objects = n;
  return rv;
}

void Cache::run(Kind& k) {
  std::mt19937_64 rng(std::random_device{}());
  auto backoff = options_.backoff_initial;
  auto wait_backoff = [&] {
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    auto d = std::chrono::milliseconds(static_cast<int64_t>(backoff.count() * jitter(rng)));
    backoff = std::min(backoff * 2, options_.backoff_max);
    return sleep_for(d);
  };
  const std::string label = k.type.kind;
  bool need_list = true;
  std::string rv;
  while (!k.stop.stop_requested()) {
    if (need_list) {
      auto listed = list_all(k);
      if (!listed) {
        const std::string& msg = listed.error().message;
        spdlog::warn("event=list_failed kind={} msg=\"{}\"", label, msg);
        set_error(k, msg);
        int code = api_error(listed.error()).code;
        if (code == 403 || code == 404) {
          std::lock_guard lock(mu_);
          if (k.stats.synced) {
            k.stats.synced = false;
            sink_.set_synced(k.type.group, k.type.kind, false);
          }
        }
        if (!wait_backoff()) break;
        continue;
      }
      rv = *listed;
      need_list = false;
      backoff = options_.backoff_initial;
      bool first = false;
      {
        std::lock_guard lock(mu_);
        first = k.stats.lists == 0;
        ++k.stats.lists;
        if (!first) ++k.stats.relists;
        k.stats.resource_version = rv;
        k.stats.last_error.clear();
        if (!k.stats.synced) {
          k.stats.synced = true;
          sink_.set_synced(k.type.group, k.type.kind, true);
        }
      }
      spdlog::info("event=listed kind={} objects={} resource_version={} relist={}", label,
                   k.stats.objects, rv, !first);
    }

    bool expired = false;
    std::string event_error;
    std::uniform_int_distribution<int> spread(0, options_.watch_timeout_seconds);
    int timeout = options_.watch_timeout_seconds + spread(rng);
    auto st = client_.watch(
        k.type.path(), rv,
        [&](WatchEvent&& ev) {
          if (ev.type == "ERROR") {
            int code = ev.object.value("code", 0);
            if (code == 410) {
              expired = true;
            } else {
              event_error = ev.object.value("message", "watch ERROR event");
            }
            return false;
          }
          json& md = ev.object["metadata"];
          std::string new_rv = md.value("resourceVersion", "");
          uint64_t delta = 0;
          int64_t added = 0;  // the object count follows the events between LISTs
          if (ev.type == "ADDED" || ev.type == "MODIFIED") {
            strip_object(ev.object, k.type);
            sink_.upsert(std::move(ev.object));
            delta = 1;
            added = ev.type == "ADDED" ? 1 : 0;
          } else if (ev.type == "DELETED") {
            sink_.remove(k.type.group, k.type.kind, md.value("namespace", ""),
                         md.value("name", ""));
            delta = 1;
            added = -1;
          }
          if (!new_rv.empty()) rv = new_rv;
          std::lock_guard lock(mu_);
          k.stats.events += delta;
          if (added > 0) {
            ++k.stats.objects;
          } else if (added < 0 && k.stats.objects > 0) {
            --k.stats.objects;
          }
          k.stats.resource_version = rv;
          return true;
        },
        k.stop, timeout);
    if (k.stop.stop_requested()) break;
    {
      std::lock_guard lock(mu_);
      ++k.stats.watch_restarts;
    }
    if (expired || (!st && is_gone(st.error()))) {
      spdlog::info("event=watch_expired kind={} resource_version={} action=relist", label, rv);
      need_list = true;
      continue;
    }
    if (!st || !event_error.empty()) {
      std::string msg = !st ? st.error().message : event_error;
      spdlog::warn("event=watch_failed kind={} resource_version={} msg=\"{}\"", label, rv, msg);
      set_error(k, msg);
      if (!wait_backoff()) break;
      continue;
    }
    backoff = options_.backoff_initial;  // a clean end (server timeout): watch again at once
  }
}

}  // namespace latticeguard::kube
