#include "cli/live_state.h"

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "audit/report.h"
#include "certs/files.h"
#include "certs/rotation.h"
#include "certs/self_managed.h"
#include "cli/cluster.h"
#include "kube/cache.h"
#include "kube/lease.h"

namespace latticeguard {
namespace {

using namespace std::chrono_literals;

// The watch cache's sink: objects are kept packed (Object::pack: a tenth of the memory of a
// JSON tree, decoded per evaluation), since a large cluster's objects are held for the
// process's life and each is read only by the few requests that touch it.
// Writers (one thread per kind) update a working ObjectIndex under a mutex; a publisher copies
// it into an immutable snapshot at most every `period`. Copying an ObjectIndex copies a few
// dozen shard pointers and the next write copies only the shard it touches, so admission
// threads read snapshots without ever waiting for the watchers.
class CowState final : public kube::CacheSink, public webhook::ClusterState {
 public:
  explicit CowState(std::chrono::milliseconds period) : period_(period) {
    working_.set_all_complete(false);  // nothing is known to be absent until its kind syncs
    published_.store(std::make_shared<const ObjectIndex>(working_));
    publisher_ = std::thread([this] { publish_loop(); });
  }
  ~CowState() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    publisher_.join();
  }

  void replace_kind(const std::string& group, const std::string& kind,
                    std::vector<nlohmann::json> objects) override {
    begin_list(group, kind);
    for (nlohmann::json& o : objects) add_listed(group, kind, std::move(o));
    commit_list(group, kind);
  }
  // Lists arrive page by page and each object is packed as it comes: the JSON of one page is
  // all that is alive at a time, instead of a whole kind's.
  void begin_list(const std::string& group, const std::string& kind) override {
    std::lock_guard lock(listing_mu_);
    listing_[{group, kind}].clear();
  }
  void add_listed(const std::string& group, const std::string& kind, nlohmann::json obj) override {
    Result<ObjectPtr> p = object_from_api(std::move(obj), /*packed=*/true);
    if (!p) return;
    std::lock_guard lock(listing_mu_);
    listing_[{group, kind}].push_back(std::move(*p));
  }
  void commit_list(const std::string& group, const std::string& kind) override {
    std::vector<ObjectPtr> built;
    {
      std::lock_guard lock(listing_mu_);
      built = take(listing_, {group, kind});
    }
    install(group, kind, std::move(built));
  }
  void upsert(nlohmann::json obj) override {
    Result<ObjectPtr> p = object_from_api(std::move(obj), /*packed=*/true);
    if (!p) return;
    std::lock_guard lock(mu_);
    working_.put(std::move(*p));
    dirty_ = true;
  }
  void remove(const std::string& group, const std::string& kind, const std::string& ns,
              const std::string& name) override {
    std::lock_guard lock(mu_);
    working_.erase(ObjectKey{group, kind, ns, name});
    dirty_ = true;
  }
  void set_synced(const std::string& group, const std::string& kind, bool synced) override {
    bool first_sync = false;
    {
      std::lock_guard lock(mu_);
      working_.set_complete(Kind{group, kind}, synced);
      synced_[{group, kind}] = synced;
      dirty_ = true;
      publish_locked();  // readiness and completeness should not lag
      first_sync = !trimmed_ && synced_locked();
      trimmed_ = trimmed_ || first_sync;
    }
    // The initial LISTs parse whole pages and keep a small part of each object; glibc keeps the
    // freed rest in its arenas (one per watch thread). Hand it back once, when all are listed.
    if (first_sync) malloc_trim(0);
  }
  void set_available(const std::string& group, const std::string& kind, bool available) override {
    std::lock_guard lock(mu_);
    available_[{group, kind}] = available;
    if (!available) {
      spdlog::warn("event=kind_unavailable group={} kind={} effect=rules_reading_it_skipped",
                   group.empty() ? "core" : group, kind);
    }
  }

  std::shared_ptr<const ObjectIndex> snapshot() const override { return published_.load(); }
  bool synced() const override {
    std::lock_guard lock(mu_);
    return synced_locked();
  }

 private:
  bool synced_locked() const {
    if (available_.empty()) return false;
    for (const auto& [k, avail] : available_) {
      if (!avail) continue;
      auto it = synced_.find(k);
      if (it == synced_.end() || !it->second) return false;
    }
    return true;
  }

  void install(const std::string& group, const std::string& kind, std::vector<ObjectPtr> built) {
    std::lock_guard lock(mu_);
    working_.clear_kind(Kind{group, kind});
    for (ObjectPtr& p : built) working_.put(std::move(p));
    dirty_ = true;
  }
  void publish_locked() {
    published_.store(std::make_shared<const ObjectIndex>(working_));
    dirty_ = false;
  }
  void publish_loop() {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, period_, [this] { return stopping_; })) {
      if (dirty_) publish_locked();
    }
  }

  std::chrono::milliseconds period_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool dirty_ = false;
  bool trimmed_ = false;
  ObjectIndex working_;
  std::atomic<std::shared_ptr<const ObjectIndex>> published_;
  std::map<std::pair<std::string, std::string>, bool> synced_, available_;
  std::mutex listing_mu_;  // lists in progress, per kind (one watch thread each)
  std::map<std::pair<std::string, std::string>, std::vector<ObjectPtr>> listing_;
  std::thread publisher_;
};

// "10m", "90s", "1h", "0" -> duration; nullopt when malformed.
std::optional<std::chrono::seconds> parse_duration(const std::string& s) {
  if (s == "0") return 0s;
  if (s.size() < 2) return std::nullopt;
  char unit = s.back();
  std::string num = s.substr(0, s.size() - 1);
  if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  long n = std::stol(num);
  switch (unit) {
    case 's':
      return std::chrono::seconds(n);
    case 'm':
      return std::chrono::seconds(n * 60);
    case 'h':
      return std::chrono::seconds(n * 3600);
    default:
      return std::nullopt;
  }
}

// A thread that runs `fn` every `period` until stopped.
class Ticker {
 public:
  void start(std::chrono::milliseconds period, std::function<void()> fn) {
    stop();
    {
      std::lock_guard lock(mu_);
      stopping_ = false;
    }
    thread_ = std::thread([this, period, fn = std::move(fn)] {
      std::unique_lock lock(mu_);
      while (!stopping_) {
        lock.unlock();
        fn();
        lock.lock();
        cv_.wait_for(lock, period, [this] { return stopping_; });
      }
    });
  }
  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  ~Ticker() { stop(); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

class LiveClusterImpl final : public LiveCluster {
 public:
  LiveClusterImpl(const ServeOptions& opts, webhook::Metrics& metrics,
                  std::unique_ptr<kube::Client> client)
      : opts_(opts),
        metrics_(metrics),
        client_(std::move(client)),
        state_(std::make_shared<CowState>(100ms)),
        cache_(*client_, *state_) {}

  Status init() {
    if (Status s = cache_.start(); !s) return s;
    auto& objects =
        metrics_.gauge("latticeguard_cache_objects", "Objects in the watch cache.", {"kind"});
    auto& synced =
        metrics_.gauge("latticeguard_cache_synced",
                       "1 when the kind has been listed and is being watched.", {"kind"});
    auto& relists = metrics_.gauge("latticeguard_cache_relists",
                                   "LISTs after the first (410 Gone, errors), per kind.", {"kind"});
    auto& restarts =
        metrics_.gauge("latticeguard_cache_watch_restarts",
                       "Watches that ended and were started again, per kind.", {"kind"});
    stats_.start(5s, [&, this] {
      for (const kube::KindStats& k : cache_.stats()) {
        objects.set({k.kind}, static_cast<double>(k.objects));
        synced.set({k.kind}, k.synced ? 1 : 0);
        relists.set({k.kind}, static_cast<double>(k.relists));
        restarts.set({k.kind}, static_cast<double>(k.watch_restarts));
      }
    });
    return Ok{};
  }

  std::shared_ptr<webhook::ClusterState> state() override { return state_; }

  Status before_serving() override {
    if (!opts_.self_signed_certs) return Ok{};
    return sync_certificates();
  }

  void after_serving(webhook::Server& server, webhook::Decider& decider) override {
    if (opts_.self_signed_certs) {
      certs_.start(1h, [this, &server] {
        if (Status s = sync_certificates(); !s) {
          spdlog::error("event=cert_rotation_failed error=\"{}\"", s.error().message);
        } else {
          server.certs().reload_now();
        }
      });
    }
    std::optional<std::chrono::seconds> every = parse_duration(opts_.audit_interval);
    if (!every) {
      spdlog::error("event=audit_disabled reason=\"bad --audit-interval {}\"",
                    opts_.audit_interval);
      return;
    }
    if (every->count() == 0) return;
    std::string ns = pod_namespace();
    if (!opts_.leader_election_namespace.empty()) ns = opts_.leader_election_namespace;
    kube::LeaderElector::Options lo;
    lo.ns = ns;
    lo.name = opts_.lease_name;
    lo.identity = identity();
    elector_ = std::make_unique<kube::LeaderElector>(
        *client_, lo,
        kube::LeaderElector::Callbacks{
            .on_started_leading =
                [this, &decider, every] {
                  spdlog::info("event=audit_leader acquired=true identity={}", identity());
                  audit_.start(std::chrono::duration_cast<std::chrono::milliseconds>(*every),
                               [this, &decider] { run_audit(decider); });
                },
            .on_stopped_leading =
                [this] {
                  spdlog::info("event=audit_leader acquired=false");
                  audit_.stop();
                }});
    elector_->start();
  }

  void stop() override {
    if (elector_) elector_->stop();
    audit_.stop();
    certs_.stop();
    stats_.stop();
    cache_.stop();
  }

 private:
  std::string pod_namespace() const {
    if (!opts_.pod_namespace.empty()) return opts_.pod_namespace;
    const char* env = std::getenv("POD_NAMESPACE");
    return env && *env ? env : "latticeguard-system";
  }
  std::string identity() const {
    const char* pod = std::getenv("POD_NAME");
    if (pod && *pod) return pod;
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    return std::string(host) + "-" + std::to_string(getpid());
  }

  void run_audit(webhook::Decider& decider) {
    if (!state_->synced()) {
      spdlog::info("event=audit_skipped reason=cache_not_synced");
      return;
    }
    auto started = std::chrono::steady_clock::now();
    std::shared_ptr<const ObjectIndex> snap = state_->snapshot();
    audit::AuditRun run =
        audit::audit_index(*snap, std::make_shared<const Config>(decider.engine()->config()));
    auto reports = audit::policy_reports(run, std::chrono::system_clock::now());
    Result<ReportWrite> w = write_policy_reports(*client_, reports);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - started)
                  .count();
    if (!w) {
      spdlog::error("event=audit_failed error=\"{}\"", w.error().message);
      return;
    }
    spdlog::info(
        "event=audit objects={} findings={} reports_created={} reports_updated={} "
        "reports_deleted={} ms={}",
        run.checked.size(), run.findings.size(), w->created, w->updated, w->deleted, ms);
  }

  // Self-managed certificates: the Secret is the source of truth shared by all replicas; the
  // first replica to find it empty fills it (a resourceVersion-guarded PUT, so one wins).
  Status sync_certificates() {
    std::string ns = pod_namespace();
    std::string path = "/api/v1/namespaces/" + ns + "/secrets/" + opts_.cert_secret;
    certs::CertsGenerateOptions go;
    go.service = opts_.service;
    go.ns = ns;
    certs::IssueSpec spec = certs::issue_spec(go);
    certs::CertBundle bundle;
    for (int attempt = 0; attempt < 3; ++attempt) {
      Result<nlohmann::json> secret = client_->get(path);
      if (!secret && !kube::is_not_found(secret.error())) return secret.error();
      std::string rv = secret ? (*secret)["metadata"].value("resourceVersion", "") : "";
      bool have = secret && certs::secret_has_bundle(*secret);
      bool changed = false;
      if (have) {
        Result<certs::CertBundle> b = certs::bundle_from_secret(*secret);
        if (!b) return Error{"certificate Secret " + opts_.cert_secret + ": " + b.error().message};
        bundle = std::move(*b);
        bool published = trust_published(bundle.trust_pem);
        Result<certs::RotationPlan> plan =
            certs::plan_rotation(bundle, spec, certs::Clock::now(), published);
        if (!plan) return plan.error();
        if (plan->any()) {
          spdlog::info("event=cert_rotation reason=\"{}\"", plan->reason);
          Result<certs::CertBundle> r = certs::rotate(bundle, *plan, spec, certs::Clock::now());
          if (!r) return r.error();
          bundle = std::move(*r);
          changed = true;
        }
      } else {
        Result<certs::CertBundle> b = certs::make_bundle(spec);
        if (!b) return b.error();
        bundle = std::move(*b);
        changed = true;
      }
      if (changed) {
        nlohmann::json body = certs::secret_json(opts_.cert_secret, ns, bundle, rv);
        Result<nlohmann::json> w =
            secret ? client_->update(path, body)
                   : client_->create("/api/v1/namespaces/" + ns + "/secrets", body);
        if (!w) {
          if (kube::is_conflict(w.error())) continue;  // another replica won: take theirs
          return Error{"write certificate Secret: " + w.error().message};
        }
      }
      break;
    }
    if (Status s = publish_ca_bundle(bundle.trust_pem); !s) return s;
    return certs::write_cert_files(opts_.cert_dir, bundle, /*force=*/true);
  }

  std::vector<std::string> webhook_config_paths() const {
    return {"/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/" +
                opts_.webhook_config_name,
            "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/" +
                opts_.webhook_config_name};
  }

  bool trust_published(const std::string& trust_pem) {
    for (const std::string& p : webhook_config_paths()) {
      Result<nlohmann::json> cfg = client_->get(p);
      if (cfg && !certs::ca_bundle_published(*cfg, trust_pem)) return false;
    }
    return true;
  }

  Status publish_ca_bundle(const std::string& trust_pem) {
    for (const std::string& p : webhook_config_paths()) {
      Result<nlohmann::json> cfg = client_->get(p);
      if (!cfg) {
        if (kube::is_not_found(cfg.error())) continue;  // not installed (yet)
        return Error{"read " + p + ": " + cfg.error().message};
      }
      nlohmann::json patch = certs::ca_bundle_patch(*cfg, trust_pem);
      if (patch.empty()) continue;
      Result<nlohmann::json> r = client_->patch(p, patch, kube::PatchType::kJson);
      if (!r) return Error{"patch caBundle of " + p + ": " + r.error().message};
      spdlog::info("event=ca_bundle_published config={}", p);
    }
    return Ok{};
  }

  ServeOptions opts_;
  webhook::Metrics& metrics_;
  std::unique_ptr<kube::Client> client_;
  std::shared_ptr<CowState> state_;
  kube::Cache cache_;
  Ticker stats_, certs_, audit_;
  std::unique_ptr<kube::LeaderElector> elector_;
};

}  // namespace

Result<std::unique_ptr<LiveCluster>> LiveCluster::start(const ServeOptions& opts,
                                                        webhook::Metrics& metrics) {
  Result<std::unique_ptr<kube::Client>> client = connect({opts.kubeconfig, opts.context});
  if (!client) return client.error();
  auto live = std::make_unique<LiveClusterImpl>(opts, metrics, std::move(*client));
  if (Status s = live->init(); !s) return s.error();
  spdlog::info("event=cluster_state source=watch_cache");
  return std::unique_ptr<LiveCluster>(std::move(live));
}

}  // namespace latticeguard
