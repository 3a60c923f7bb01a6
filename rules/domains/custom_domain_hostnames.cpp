// DOM-01: only hostnames[0] becomes the Lattice custom domain; it is immutable after creation
// and needs a certificate on HTTPS listeners.
#include <algorithm>

#include "rules/core/lattice.h"
#include "rules/core/route_shape.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kHTTPRoute, kGRPCRoute, kTLSRoute};
constexpr Kind kReads[] = {kGateway, kGatewayClass};
constexpr std::string_view kCertArn = "application-networking.k8s.aws/certificate-arn";

std::string first_or_none(const std::vector<std::string>& hs) {
  return hs.empty() ? "none" : "\"" + clip(hs[0], 20) + "\"";
}

void check_update(const std::vector<std::string>& now, RuleContext& ctx) {
  const Object* old = ctx.old_object();
  if (ctx.operation() != Operation::kUpdate || !old) return;
  std::vector<std::string> before = route_hostnames(*old);
  bool had = !before.empty(), has = !now.empty();
  if (had == has && (!had || before[0] == now[0])) return;
  ctx.report(has ? "/spec/hostnames/0" : "/spec/hostnames",
             "custom domain " + first_or_none(before) + " -> " + first_or_none(now) +
                 ": VPC Lattice custom domains cannot change after creation");
}

void check(const Object& route, RuleContext& ctx) {
  std::vector<std::string> hosts = route_hostnames(route);
  check_update(hosts, ctx);
  if (hosts.empty()) return;
  for (size_t i = 1; i < hosts.size(); ++i) {
    ctx.report(pointer_join("/spec/hostnames", i),
               "only hostnames[0] becomes the VPC Lattice custom domain; \"" + clip(hosts[i]) +
                   "\" is ignored",
               Level::kWarn);
  }
  const std::string& domain = hosts[0];
  if (domain.starts_with("*")) {
    ctx.report("/spec/hostnames/0",
               "wildcard \"" + clip(domain) + "\" as custom domain: Lattice expects a plain FQDN",
               Level::kWarn);
  }
  if (domain.size() < 3 || domain.size() > 255) {
    ctx.report("/spec/hostnames/0",
               "custom domain must be 3-255 characters (has " + std::to_string(domain.size()) + ")",
               Level::kWarn);
  }
  // (e) certificates: auto-discovery looks only at HTTPS listeners with tls.mode Terminate.
  std::vector<std::string> seen;
  for (const AttachedListener& a : lattice_listeners(ctx.cluster(), route)) {
    if (str(*a.listener, "protocol") != "HTTPS") continue;
    std::string name = str(*a.listener, "name");
    std::string key = a.gateway->ns() + "/" + a.gateway->name() + "/" + name;
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
    seen.push_back(key);
    const json* tls = child(*a.listener, "tls");
    std::string where = "HTTPS listener \"" + clip(name, 20) + "\"";
    if (!tls) {
      ctx.report("/spec/hostnames/0",
                 where + " has no tls block; no certificate is attached for the custom domain",
                 Level::kWarn);
      continue;
    }
    const json* opts = child(*tls, "options");
    if (opts && child(*opts, kCertArn)) continue;
    ctx.report("/spec/hostnames/0",
               where + " has no certificate-arn; the custom domain relies on ACM auto-discovery",
               Level::kWarn);
  }
}

}  // namespace

extern constinit const Rule kCustomDomainHostnames{
    .id = "custom-domain-hostnames",
    .catalogue = "DOM-01",
    .group = "domains",
    .summary =
        "hostnames[0] is the route's only, immutable Lattice custom domain and needs a "
        "certificate on HTTPS",
    .remediation =
        "Keep one hostname per route; to change the custom domain create a new route "
        "and delete the old one; set tls.options certificate-arn on HTTPS listeners",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = kReads,
    .check = check,
};

}  // namespace latticeguard
