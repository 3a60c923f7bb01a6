// What the controller builds target groups for: which Lattice routes and ServiceExports use a
// Service, and so which protocol its target groups get (HTTPRoute: HTTP/HTTP1, GRPCRoute:
// HTTP/GRPC, TLSRoute: TCP; ServiceExport by routeType).
//
//   TargetUse u = service_use(view, cfg, "shop", "greeter");
//   if (u.known && u.routes.empty() && u.exports.empty()) ...   // no target group at all
//   TargetUse t = policy_use(view, cfg, tgp);                     // by the TGP's targetRef
//
// Lookups are indexed (route backend edges, export edges). `known` is false when a kind that
// could add a use is not complete (open world, unsynced cache): then absence proves nothing.
// Pure functions over a ClusterView; thread-safe as the view is.
#pragma once

#include <string_view>
#include <vector>

#include "rules/core/cluster_view.h"
#include "rules/core/config.h"
#include "rules/core/object.h"

namespace latticeguard {

struct TargetUse {
  std::vector<const Object*> routes;   // Lattice routes (in scope) with a backendRef to it
  std::vector<const Object*> exports;  // ServiceExports of it
  const Object* grpc_by = nullptr;     // a GRPCRoute or GRPC-routeType export using it
  const Object* tls_by = nullptr;      // a TLSRoute or TLS-routeType export using it
  bool known = true;                   // every kind that could add a use is complete
};

// Uses of Service ns/name by routes (any namespace) and ServiceExports.
TargetUse service_use(const ClusterView& v, const Config& cfg, std::string_view ns,
                      std::string_view name);
// Uses of one ServiceExport (its exportedPorts route types; legacy exports are HTTP).
TargetUse export_use(const Object& service_export);
// Uses of a TargetGroupPolicy's target (Service or ServiceExport in the policy's namespace).
// For a ServiceExport target that does not exist, `exports` is empty.
TargetUse policy_use(const ClusterView& v, const Config& cfg, const Object& tgp);

}  // namespace latticeguard
