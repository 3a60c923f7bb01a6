#include "cli/serve.h"

#include <malloc.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <sstream>
#include <thread>

#include "cli/lint.h"
#include "cli/live_state.h"
#include "rules/core/doc_cache.h"
#include "webhook/decision.h"
#include "webhook/logging.h"
#include "webhook/server.h"

namespace latticeguard {
namespace {

using namespace std::chrono_literals;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Watches the config file (a mounted ConfigMap changes in place) and swaps the engine on a valid
// change; an invalid file is logged and the running config kept.
class ConfigWatcher {
 public:
  ConfigWatcher(std::string path, std::string last_text, webhook::Decider& decider,
                std::chrono::milliseconds every)
      : path_(std::move(path)), last_(std::move(last_text)), decider_(decider), every_(every) {}
  ~ConfigWatcher() { stop(); }

  void start() {
    if (path_.empty()) return;
    thread_ = std::thread([this] {
      std::unique_lock lock(mu_);
      while (!cv_.wait_for(lock, every_, [this] { return stopping_; })) check();
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

 private:
  void check() {
    std::string text = read_text(path_);
    if (text == last_) return;
    last_ = text;
    Result<Config> c = Config::parse_yaml(text, path_);
    if (!c) {
      spdlog::error("event=config_reload_failed file={} error=\"{}\" kept=previous", path_,
                    c.error().message);
      return;
    }
    decider_.set_config(std::make_shared<const Config>(std::move(*c)));
    spdlog::info("event=config_reloaded file={}", path_);
  }

  std::string path_, last_;
  webhook::Decider& decider_;
  std::chrono::milliseconds every_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// The state directory stands in for the API server, so its objects are kept as the watch cache
// keeps the API server's: packed, with no source text or pristine copy (they are never patched or
// located), and with a creationTimestamp. Admissions then do the same work as against a live
// cluster, and 50,000 objects fit in the same memory. The API server stamps an object under CREATE
// review before calling the webhook; without a stamp the files' objects would sort as "not created
// yet", after the reviewed object, and rules that keep the oldest of several (policy-conflict)
// would pick the wrong one.
ObjectPtr as_cluster_object(const ObjectPtr& o) {
  json doc = o->doc();
  json& md = doc["metadata"];
  if (!md.contains("creationTimestamp")) md["creationTimestamp"] = "1970-01-01T00:00:00Z";
  Result<Object> stored = Object::from_json(std::move(doc), o->ns(), Origin::kApiServer);
  if (!stored) return o;
  stored->pack();
  return std::make_shared<const Object>(std::move(*stored));
}

void export_doc_cache(webhook::Metrics& metrics) {
  auto& bytes = metrics.gauge("latticeguard_doc_cache_bytes",
                              "Estimated bytes of decoded objects kept between admissions.");
  auto& lookups = metrics.counter(
      "latticeguard_doc_cache_lookups_total",
      "Cached objects read by admissions, by whether the decoded-document cache held them.",
      {"result"});
  metrics.add_collector([&bytes, &lookups] {
    DocCache::Stats d = DocCache::stats();
    bytes.set({}, static_cast<double>(d.bytes));
    lookups.set_total({"hit"}, static_cast<double>(d.hits));
    lookups.set_total({"miss"}, static_cast<double>(d.misses));
  });
}

}  // namespace

int run_serve(const ServeOptions& opts) {
  if (!webhook::configure_logging(opts.log_format, opts.log_level)) {
    std::fprintf(stderr,
                 "latticeguard: --log-format must be text|json and --log-level a spdlog level\n");
    return 2;
  }
  // Signals are taken by sigwait() below; block them before any thread starts so none of the
  // server's threads receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto config = std::make_shared<Config>(Config::defaults());
  std::string config_text;
  if (!opts.config_file.empty()) {
    config_text = read_text(opts.config_file);
    Result<Config> c = Config::parse_yaml(config_text, opts.config_file);
    if (!c) {
      spdlog::critical("event=startup_failed error=\"{}\"", c.error().message);
      return 1;
    }
    *config = std::move(*c);
  }

  webhook::Metrics metrics;
  // Cluster objects are kept packed; admissions keep the decoded trees they reuse.
  DocCache::set_budget(opts.doc_cache_bytes);
  export_doc_cache(metrics);
  std::shared_ptr<webhook::ClusterState> state;
  std::unique_ptr<LiveCluster> live;
  if (!opts.cluster_state_dir.empty()) {
    Result<LoadedFiles> loaded = load_inputs({opts.cluster_state_dir}, "default");
    if (!loaded) {
      spdlog::critical("event=startup_failed error=\"{}\"", loaded.error().message);
      return 1;
    }
    ObjectIndex index;
    size_t n = 0;
    for (const ManifestFile& f : loaded->files) {
      for (const ObjectPtr& o : f.objects) {
        index.put(as_cluster_object(o));
        ++n;
      }
    }
    // The files' text and first decoding are no longer needed. Freed all at once, after the
    // packed objects are made, they leave whole pages to trim; freed file by file, the packed
    // objects would fill their holes and keep twice the memory resident.
    *loaded = LoadedFiles{};
    malloc_trim(0);
    spdlog::info("event=cluster_state source=directory dir={} objects={}", opts.cluster_state_dir,
                 n);
    state = std::make_shared<webhook::StaticClusterState>(std::move(index));
  } else {
    // The watch threads parse list pages in their own malloc arenas; glibc's default of eight
    // per core leaves each holding freed pages of its parses between the objects it keeps. Two
    // per core keep that slack small without making request threads contend for one.
    mallopt(M_ARENA_MAX, static_cast<int>(2 * std::max(1u, std::thread::hardware_concurrency())));
    Result<std::unique_ptr<LiveCluster>> l = LiveCluster::start(opts, metrics);
    if (!l) {
      spdlog::critical("event=startup_failed error=\"{}\"", l.error().message);
      return 1;
    }
    live = std::move(*l);
    state = live->state();
  }

  webhook::Decider decider(state, config);
  webhook::ServerOptions so;
  so.listen = opts.listen;
  so.cert_file = opts.cert_file;
  so.key_file = opts.key_file;
  if (opts.self_signed_certs) {
    // Self-managed certificates are written to --cert-dir; serve them unless told otherwise.
    if (so.cert_file.empty()) so.cert_file = opts.cert_dir + "/tls.crt";
    if (so.key_file.empty()) so.key_file = opts.cert_dir + "/tls.key";
  }
  so.client_ca_file = opts.client_ca_file;
  so.max_body_bytes = opts.max_body_bytes;
  so.threads = opts.threads;
  so.keep_alive_max = opts.keep_alive_max;
  so.keep_alive_timeout_s = opts.keep_alive_timeout_s;
  so.read_timeout_s = opts.read_timeout_s;
  so.write_timeout_s = opts.write_timeout_s;
  so.shutdown_delay = std::chrono::milliseconds(opts.shutdown_delay_ms);
  webhook::Server server(so, metrics);
  server.handle("/validate",
                [&](webhook::AdmissionRequest r) { return decider.validate(std::move(r)); });
  server.handle("/mutate",
                [&](webhook::AdmissionRequest r) { return decider.mutate(std::move(r)); });
  server.set_ready_check(
      [&] { return state->synced() || decider.engine()->config().fail_open_until_synced; });
  if (live) {
    // Certificates may have to be issued before the server can load them.
    if (Status s = live->before_serving(); !s) {
      spdlog::critical("event=startup_failed error=\"{}\"", s.error().message);
      return 1;
    }
  }
  if (Status s = server.start(); !s) {
    spdlog::critical("event=startup_failed error=\"{}\"", s.error().message);
    return 1;
  }
  spdlog::info("event=serving listen={} port={} rules={} config={}", opts.listen, server.port(),
               decider.engine()->rules().size(),
               opts.config_file.empty() ? "(defaults)" : opts.config_file);
  ConfigWatcher watcher(opts.config_file, config_text, decider,
                        std::chrono::milliseconds(opts.config_poll_ms));
  watcher.start();
  if (live) live->after_serving(server, decider);

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("event=shutdown signal={} phase=draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  server.stop_gracefully();
  server.wait();
  watcher.stop();
  if (live) live->stop();
  spdlog::info("event=shutdown phase=done");
  return 0;
}

}  // namespace latticeguard
