// The effective VPC Lattice health check of the target groups behind a Service, for the rules
// that compare it with the pods' probes (lattice-rules.md §2).
//
//   if (!health_check_enabled(view, *svc, tgp, cfg)) return;   // Lattice does not check at all
//   const json* hc = health_check_of(*tgp);                     // spec.healthCheck or nullptr
//   if (without_query(path) != without_query(b->probe_path)) ...
//
// Pure functions over a ClusterView; thread-safe as the view is.
#pragma once

#include <string_view>

#include "rules/core/cluster_view.h"
#include "rules/core/config.h"
#include "rules/core/object.h"

namespace latticeguard {

// Whether Lattice health-checks the target groups of `service` under `tgp` (nullptr: none).
// An explicit healthCheck.enabled decides; otherwise the controller default: off for protocol
// TCP, on exactly when protocolVersion is HTTP1, and with no protocolVersion on unless every
// Lattice route using the Service is a GRPCRoute (GRPC target group) or a TLSRoute (TCP).
bool health_check_enabled(const ClusterView& v, const Object& service, const Object* tgp,
                          const Config& cfg);

// spec.healthCheck of a TargetGroupPolicy when it is a mapping, else nullptr.
const json* health_check_of(const Object& tgp);

// "/health?full=1" -> "/health". Lattice and kubelet send the query, but it selects no handler.
std::string_view without_query(std::string_view path);

}  // namespace latticeguard
