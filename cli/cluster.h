// Access to a live cluster for the CLI: credentials, one-shot listing into an ObjectIndex (audit,
// lint --cluster) and PolicyReport writes.
//
//   auto client = connect({.kubeconfig = "", .context = ""});   // kubeconfig, else in-cluster
//   Result<ClusterSnapshot> s = list_cluster(**client, "");      // every kind the rules read
//   write_policy_reports(**client, reports);                     // create-or-update, prune stale
//
// Functions block on the network; callers own threading.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kube/client.h"
#include "rules/core/cluster_view.h"

namespace latticeguard {

struct ConnectOptions {
  std::string kubeconfig;  // empty: $KUBECONFIG, ~/.kube/config, else in-cluster
  std::string context;
};
Result<std::unique_ptr<kube::Client>> connect(const ConnectOptions& o);

struct ClusterSnapshot {
  ObjectIndex index;
  std::vector<std::string> unavailable;  // kinds not served (CRD not installed) or forbidden
};
// Lists every kind the rules read (paginated). `ns` non-empty: namespaced kinds of that
// namespace only (cluster-scoped kinds are always listed: rules need GatewayClasses).
Result<ClusterSnapshot> list_cluster(kube::Client& client, const std::string& ns);

// Objects from the API server: already defaulted, raw shares doc (see Object::from_json).
// `packed`: kept as Object::pack() does, for the long-lived live cache.
Result<ObjectPtr> object_from_api(nlohmann::json obj, bool packed = false);

struct ReportWrite {
  int created = 0, updated = 0, deleted = 0;
};
// Creates or updates each report in place and deletes latticeguard's reports that no longer
// have results (objects fixed or removed). Reports are matched by kind/namespace/name.
Result<ReportWrite> write_policy_reports(kube::Client& client,
                                         const std::vector<nlohmann::json>& reports);

}  // namespace latticeguard
