// Lattice resource names the AWS Gateway API Controller derives from Kubernetes objects.
//
//   std::string svc = lattice_service_name(route);   // "checkout-service-pub-ecommerce-producti"
//   bool cut = lattice_service_name_truncated(route);
//
// The controller names a route's Lattice service `Truncate(name, 20) + "-" +
// Truncate(namespace, 18)` (pkg/utils/common.go LatticeServiceName; Truncate cuts then trims
// '-' at both ends) unless the route carries a non-empty service-name-override annotation. The
// cluster index keys routes by this name (edge::attr(kLatticeServiceEdge, ...)) so collisions are
// one lookup. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "rules/core/object.h"

namespace latticeguard {

inline constexpr std::string_view kServiceNameOverrideAnnotation =
    "application-networking.k8s.aws/service-name-override";
// Attribute edge names (edge::attr) for routes and Gateways.
inline constexpr std::string_view kLatticeServiceEdge = "lattice-svc";
inline constexpr std::string_view kGatewayNameEdge = "gateway-name";

// s[:n] with leading and trailing '-' removed (the controller's utils.Truncate).
std::string truncate_name(std::string_view s, size_t n);
// The Lattice service name of an HTTPRoute/GRPCRoute/TLSRoute: the override when non-empty.
std::string lattice_service_name(const Object& route);
// Whether the generated name (no override) cuts the route name or namespace.
bool lattice_service_name_truncated(const Object& route);
// Why `name` is not a valid Lattice resource name — 3 to `max_len` characters of a-z, 0-9 and
// '-', no leading, trailing or double '-', not starting with `reserved_prefix` ("svc-" for
// services, "servicenetwork-" for service networks) — or "" when it is valid.
std::string lattice_name_problem(std::string_view name, size_t max_len,
                                 std::string_view reserved_prefix);

}  // namespace latticeguard
