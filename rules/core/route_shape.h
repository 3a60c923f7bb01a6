// Route shape helpers for the catalogue rules: the listeners a route attaches to on Lattice
// Gateways, hostname intersection, spec arrays, and clipping user text into short messages.
//
//   for (const AttachedListener& a : lattice_listeners(view, route)) a.listener->at("protocol");
//   if (hostnames_intersect("*.example.com", "api.example.com")) ...
//
// Pure functions over a ClusterView and immutable objects; thread-safe as the view is.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "rules/core/cluster_view.h"
#include "rules/core/object.h"

namespace latticeguard {

// A Gateway listener a route's parentRef selects on a Gateway that is (or may be) Lattice, and
// that admits the route's kind.
struct AttachedListener {
  size_t parent_index = 0;
  std::string parent_pointer;  // /spec/parentRefs/<i>
  const Object* gateway = nullptr;
  size_t listener_index = 0;
  const json* listener = nullptr;
};
std::vector<AttachedListener> lattice_listeners(const ClusterView& v, const Object& route);

// spec.<key> when it is an array, else nullptr.
const json* spec_array(const Object& o, std::string_view key);
// spec.hostnames as strings (non-strings skipped).
std::vector<std::string> route_hostnames(const Object& o);

// Gateway API hostname intersection: equal, or a leading "*." label on either side covering the
// other (one or more labels).
bool hostnames_intersect(std::string_view a, std::string_view b);

// `s` shortened to at most `max` characters ("..." marks the cut) so messages stay short.
std::string clip(std::string_view s, size_t max = 40);

}  // namespace latticeguard
