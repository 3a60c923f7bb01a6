// DOM-02: route hostnames must intersect the hostname of a listener they attach to.
#include "rules/core/lattice.h"
#include "rules/core/route_shape.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kHTTPRoute, kGRPCRoute, kTLSRoute};
constexpr Kind kReads[] = {kGateway, kGatewayClass};

bool matches_any(std::string_view host, const std::vector<std::string>& listener_hosts) {
  for (const std::string& l : listener_hosts) {
    if (hostnames_intersect(host, l)) return true;
  }
  return false;
}

void check(const Object& route, RuleContext& ctx) {
  std::vector<std::string> hosts = route_hostnames(route);
  if (hosts.empty()) return;  // the route inherits the listener hostname
  std::vector<AttachedListener> attached = lattice_listeners(ctx.cluster(), route);
  // Group by parentRef: a parentRef attaches when any of its listeners intersects.
  std::vector<std::string> all_listener_hosts;
  bool any_open = false;
  for (size_t i = 0; i < attached.size();) {
    size_t parent = attached[i].parent_index;
    std::vector<std::string> listener_hosts;
    bool open = false;
    std::string gateway = attached[i].gateway->name();
    std::string pointer = attached[i].parent_pointer;
    for (; i < attached.size() && attached[i].parent_index == parent; ++i) {
      std::string h = str(*attached[i].listener, "hostname");
      if (h.empty()) {
        open = true;
      } else {
        listener_hosts.push_back(h);
      }
    }
    any_open = any_open || open;
    all_listener_hosts.insert(all_listener_hosts.end(), listener_hosts.begin(),
                              listener_hosts.end());
    if (open) continue;
    bool hit = false;
    for (const std::string& h : hosts) hit = hit || matches_any(h, listener_hosts);
    if (!hit) {
      ctx.report(pointer, "no route hostname matches listener hostname \"" +
                              clip(listener_hosts[0], 30) + "\" of Gateway " + clip(gateway, 25));
    }
  }
  // The controller takes hostnames[0] as the custom domain even when only another hostname
  // matches the listener.
  if (any_open || all_listener_hosts.empty() || matches_any(hosts[0], all_listener_hosts)) return;
  for (size_t i = 1; i < hosts.size(); ++i) {
    if (matches_any(hosts[i], all_listener_hosts)) {
      ctx.report("/spec/hostnames/0",
                 "hostnames[0] \"" + clip(hosts[0]) +
                     "\" matches no listener but still becomes the custom domain",
                 Level::kWarn);
      return;
    }
  }
}

}  // namespace

extern constinit const Rule kHostnameListenerIntersection{
    .id = "hostname-listener-intersection",
    .catalogue = "DOM-02",
    .group = "domains",
    .summary = "Route hostnames must intersect the hostname of the Lattice listener they attach to",
    .remediation =
        "Use a hostname covered by the listener hostname (or a wildcard listener), and "
        "put that hostname first",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = kReads,
    .check = check,
};

}  // namespace latticeguard
