// Gateway API + VPC Lattice semantics shared by rules and fixes: scope, parent resolution,
// listener matching, production namespaces, and Service -> workload -> probe resolution.
//
//   if (!is_lattice_route(view, route, cfg)) return;
//   for (const ResolvedParent& p : resolve_parents(view, route)) ...
//   std::optional<Backing> b = resolve_backing(view, *svc, /*service_port=*/80);
//
// Pure functions over a ClusterView; thread-safe as the view is.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rules/core/cluster_view.h"
#include "rules/core/config.h"
#include "rules/core/object.h"

namespace latticeguard {

inline constexpr std::string_view kLatticeController =
    "application-networking.k8s.aws/gateway-api-controller";

// Tri-state for cross-object facts whose evidence may be missing.
enum class Tri { kNo, kYes, kUnknown };

bool is_lattice_class(const ClusterView& v, std::string_view class_name);
// Is the Gateway programmed by the Lattice controller? kUnknown when its class is absent and the
// world is open or no GatewayClass is known at all (then lint treats it as Lattice).
Tri gateway_is_lattice(const ClusterView& v, const Object& gateway);

struct ResolvedParent {
  size_t index;                     // position in spec.parentRefs
  std::string pointer;              // /spec/parentRefs/<i>
  std::string ns, name;             // defaulted Gateway namespace/name
  const json* ref = nullptr;        // the parentRef
  const Object* gateway = nullptr;  // nullptr when not found
  Tri lattice = Tri::kUnknown;      // whether that Gateway is a Lattice Gateway
};
std::vector<ResolvedParent> resolve_parents(const ClusterView& v, const Object& route);

// Route or Gateway in scope for the Lattice rules (DESIGN §2). Policies and other kinds: true.
bool in_scope(const ClusterView& v, const Object& o, const Config& cfg);

// The listeners of `gateway` that parentRef `ref` selects (sectionName/port), as indexes.
std::vector<size_t> matched_listeners(const Object& gateway, const json& ref);
// Route kinds a listener admits (allowedRoutes.kinds, else by protocol).
bool listener_allows_kind(const json& listener, std::string_view route_kind);
// allowedRoutes.namespaces: Same / All / Selector (needs the route Namespace's labels).
Tri listener_allows_namespace(const ClusterView& v, const json& listener,
                              std::string_view gateway_ns, std::string_view route_ns);

// Namespace labels match `productionNamespaces`. kUnknown when the Namespace is not known.
Tri is_production(const ClusterView& v, std::string_view ns, const Config& cfg);

// backendRef defaults: group "", kind Service, namespace = route namespace.
struct BackendRef {
  std::string pointer;  // /spec/rules/<i>/backendRefs/<j>
  std::string group, kind, ns, name;
  std::optional<int64_t> port;
  const json* ref = nullptr;
};
std::vector<BackendRef> backend_refs(const Object& route);

// Service port -> pod template container -> probe.
struct Backing {
  const Object* workload = nullptr;  // Deployment/StatefulSet/DaemonSet/ReplicaSet/Pod
  std::string container_pointer;     // pointer to the container in the workload
  const json* container = nullptr;
  int target_port = 0;          // resolved container port number the traffic goes to
  const json* probe = nullptr;  // httpGet probe (readiness, else startup, else liveness)
  std::string probe_kind;       // readinessProbe / startupProbe / livenessProbe
  std::string probe_pointer;    // pointer to the probe in the workload
  std::string probe_path;       // httpGet.path (default "/")
  int probe_port = 0;           // resolved httpGet.port
  std::string probe_scheme;     // HTTP / HTTPS
  bool non_http_probe = false;  // only grpc/tcpSocket/exec probes exist
};
// Workloads selected by the Service (same namespace, pod template labels match the selector).
std::vector<const Object*> selected_workloads(const ClusterView& v, const Object& service);
// `service_port`: a spec.ports[].port of the Service; 0 = the only/first port.
// nullopt when no workload or container can be found (then rules stay silent).
std::optional<Backing> resolve_backing(const ClusterView& v, const Object& service,
                                       int service_port = 0);
// The pod template (spec.template.spec or Pod spec) of a workload, or nullptr.
const json* pod_spec(const Object& workload);
std::string pod_spec_pointer(const Object& workload);

// Memoizes in_scope(), resolve_parents() and resolve_backing() on this thread while one view and
// configuration stay unchanged: every health-check rule resolves the same Service's pods, and every
// rule on a Service asks for the scope of the same routes. Engine::check opens one per evaluation;
// lint and audit open one around a whole pass over a fixed view. Nothing is cached for other views,
// or without one. Belongs to the thread that opened it; the view's objects must outlive it.
class FactMemo {
 public:
  FactMemo(const ClusterView& view, const Config& cfg);
  ~FactMemo();
  FactMemo(const FactMemo&) = delete;
  FactMemo& operator=(const FactMemo&) = delete;
  // The innermost memo open on this thread for `view` (and `cfg`, when given), or nullptr.
  static FactMemo* find(const ClusterView& view, const Config* cfg = nullptr);

  // Declared first, so destroyed last: the facts below may point into pinned documents.
  DocPins pins;
  std::unordered_map<const Object*, bool> scope;
  std::map<std::pair<const Object*, int>, std::optional<Backing>> backing;
  std::unordered_map<const Object*, std::vector<ResolvedParent>> parents;

 private:
  const ClusterView* view_;
  const Config* cfg_;
  FactMemo* outer_;
};

// Small typed accessors that never throw.
const json* child(const json& j, std::string_view key);
std::string str(const json& j, std::string_view key, std::string_view fallback = "");
std::optional<int64_t> integer(const json& j, std::string_view key);

}  // namespace latticeguard
