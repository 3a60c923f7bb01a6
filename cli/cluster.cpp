#include "cli/cluster.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <thread>

#include "audit/report.h"
#include "kube/cache.h"

namespace latticeguard {

Result<std::unique_ptr<kube::Client>> connect(const ConnectOptions& o) {
  Result<kube::ClientConfig> cfg = Error{""};
  const char* env = std::getenv("KUBECONFIG");
  const char* home = std::getenv("HOME");
  bool have_kubeconfig = !o.kubeconfig.empty() || (env && *env) ||
                         (home && std::filesystem::exists(std::string(home) + "/.kube/config"));
  if (have_kubeconfig) {
    std::vector<std::string> paths;
    if (!o.kubeconfig.empty()) paths.push_back(o.kubeconfig);
    cfg = kube::load_kubeconfig(paths, o.context);
  } else {
    cfg = kube::load_in_cluster();
  }
  if (!cfg) return Error{"kubernetes credentials: " + cfg.error().message};
  return kube::Client::create(std::move(*cfg));
}

Result<ObjectPtr> object_from_api(nlohmann::json obj, bool packed) {
  Result<Object> o = Object::from_json(std::move(obj), "", Origin::kApiServer);
  if (!o) return o.error();
  if (packed) o->pack();
  return std::make_shared<const Object>(std::move(*o));
}

namespace {

constexpr int kListConcurrency = 4;

// One kind's objects, or why it was skipped.
struct KindList {
  std::vector<ObjectPtr> objects;
  std::string unavailable;  // non-empty: not served or forbidden
  Status status = Ok{};
};

KindList list_kind(kube::Client& client, const kube::ResourceType& r, const std::string& ns,
                   const std::set<kube::GroupVersionResource>& served) {
  KindList out;
  std::string label = r.kind + "." + (r.group.empty() ? "core" : r.group);
  if (!served.count({r.group, r.version, r.resource})) {
    out.unavailable = label;
    return out;
  }
  std::string path = r.path();
  if (!ns.empty() && r.namespaced) {
    std::string prefix =
        r.group.empty() ? "/api/" + r.version : "/apis/" + r.group + "/" + r.version;
    path = prefix + "/namespaces/" + ns + "/" + r.resource;
  }
  std::string cont;
  do {
    Result<nlohmann::json> page = client.list(path, 500, cont);
    if (!page) {
      kube::ApiError e = kube::api_error(page.error());
      if (e.code == 403 || e.code == 404) {
        spdlog::warn("event=list_skipped kind={} error=\"{}\"", r.kind, page.error().message);
        out.objects.clear();
        out.unavailable = label + " (" + page.error().message + ")";
        return out;
      }
      out.status = Error{"list " + r.resource + ": " + page.error().message};
      return out;
    }
    for (nlohmann::json& item : (*page)["items"]) {
      kube::strip_object(item, r);
      Result<ObjectPtr> o = object_from_api(std::move(item));
      if (o) out.objects.push_back(std::move(*o));
    }
    cont.clear();
    if (page->contains("metadata") && (*page)["metadata"].contains("continue") &&
        (*page)["metadata"]["continue"].is_string()) {
      cont = (*page)["metadata"]["continue"].get<std::string>();
    }
  } while (!cont.empty());
  return out;
}

}  // namespace

Result<ClusterSnapshot> list_cluster(kube::Client& client, const std::string& ns) {
  ClusterSnapshot snap;
  std::set<std::string> groups;
  const std::vector<kube::ResourceType>& types = kube::default_resources();
  for (const kube::ResourceType& r : types) groups.insert(r.group);
  Result<std::set<kube::GroupVersionResource>> served = client.discover(groups);
  if (!served) return Error{"discovery: " + served.error().message};
  // Kinds are listed concurrently: paging through each is a chain of round trips, and the
  // client is shared safely. Results are merged in table order, so output does not depend on
  // which kind answered first.
  std::vector<KindList> lists(types.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < types.size(); i = next++) {
      lists[i] = list_kind(client, types[i], ns, *served);
    }
  };
  {
    std::vector<std::jthread> pool;
    for (int t = 0; t < kListConcurrency; ++t) pool.emplace_back(worker);
  }
  for (size_t i = 0; i < types.size(); ++i) {
    if (!lists[i].status) return lists[i].status.error();
    std::optional<Kind> kind = find_kind(types[i].group, types[i].kind);
    if (!lists[i].unavailable.empty()) {
      snap.unavailable.push_back(std::move(lists[i].unavailable));
      if (kind) snap.index.set_complete(*kind, false);
      continue;
    }
    for (ObjectPtr& o : lists[i].objects) snap.index.put(std::move(o));
  }
  return snap;
}

namespace {

std::string report_path(const nlohmann::json& r, bool item) {
  bool cluster = r["kind"] == "ClusterPolicyReport";
  std::string base = "/apis/wgpolicyk8s.io/v1alpha2/";
  std::string out = cluster ? base + "clusterpolicyreports"
                            : base + "namespaces/" + r["metadata"]["namespace"].get<std::string>() +
                                  "/policyreports";
  if (item) out += "/" + r["metadata"]["name"].get<std::string>();
  return out;
}

bool managed_by_us(const nlohmann::json& r) {
  const nlohmann::json* labels = nullptr;
  if (r.contains("metadata") && r["metadata"].contains("labels")) labels = &r["metadata"]["labels"];
  return labels && labels->is_object() &&
         labels->value(std::string(audit::kManagedByLabel), "") == audit::kReportName;
}

}  // namespace

Result<ReportWrite> write_policy_reports(kube::Client& client,
                                         const std::vector<nlohmann::json>& reports) {
  ReportWrite w;
  std::set<std::pair<std::string, std::string>> wanted;  // (namespace, name); "" = cluster
  for (const nlohmann::json& r : reports) {
    std::string ns = r["metadata"].value("namespace", "");
    wanted.insert({ns, r["metadata"]["name"].get<std::string>()});
    Result<nlohmann::json> existing = client.get(report_path(r, true));
    if (existing) {
      nlohmann::json body = r;
      body["metadata"]["resourceVersion"] = (*existing)["metadata"].value("resourceVersion", "");
      Result<nlohmann::json> u = client.update(report_path(r, true), body);
      if (!u && kube::is_conflict(u.error())) {
        // Someone wrote it in between: read again and retry once.
        if (Result<nlohmann::json> again = client.get(report_path(r, true))) {
          body["metadata"]["resourceVersion"] = (*again)["metadata"].value("resourceVersion", "");
          u = client.update(report_path(r, true), body);
        }
      }
      if (!u) return Error{"update " + report_path(r, true) + ": " + u.error().message};
      w.updated++;
    } else if (kube::is_not_found(existing.error())) {
      Result<nlohmann::json> c = client.create(report_path(r, false), r);
      if (!c) return Error{"create " + report_path(r, false) + ": " + c.error().message};
      w.created++;
    } else {
      return Error{"get " + report_path(r, true) + ": " + existing.error().message};
    }
  }
  // Prune: our reports for namespaces that no longer have any checked object.
  for (const char* collection : {"/apis/wgpolicyk8s.io/v1alpha2/policyreports",
                                 "/apis/wgpolicyk8s.io/v1alpha2/clusterpolicyreports"}) {
    Result<nlohmann::json> list = client.list(collection, 0, "");
    if (!list) continue;
    for (const nlohmann::json& item : (*list)["items"]) {
      if (!managed_by_us(item)) continue;
      std::string ns = item["metadata"].value("namespace", "");
      std::string name = item["metadata"].value("name", "");
      if (wanted.count({ns, name})) continue;
      nlohmann::json shaped = item;
      shaped["kind"] = ns.empty() ? "ClusterPolicyReport" : "PolicyReport";
      if (Result<nlohmann::json> d = client.del(report_path(shaped, true)); d) w.deleted++;
    }
  }
  return w;
}

}  // namespace latticeguard
