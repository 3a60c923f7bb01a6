// UNSUP-05: what a TLSRoute needs to become a Lattice TLS passthrough service.
#include "rules/core/fix.h"
#include "rules/core/lattice.h"
#include "rules/core/route_shape.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kTLSRoute};
constexpr Kind kReads[] = {kGateway, kGatewayClass};

bool is_ip(std::string_view h) {
  if (h.find(':') != std::string_view::npos) return true;  // IPv6
  return !h.empty() && h.find_first_not_of("0123456789.") == std::string_view::npos;
}

void check_hostnames(const Object& route, RuleContext& ctx) {
  const json* hs = spec_array(route, "hostnames");
  if (!hs || hs->empty()) {
    ctx.report("/spec/hostnames",
               "TLSRoute needs a hostname: VPC Lattice TLS services require a custom domain");
    return;
  }
  for (size_t i = 0; i < hs->size(); ++i) {
    std::string h = (*hs)[i].is_string() ? (*hs)[i].get<std::string>() : "";
    std::string name = h.starts_with("*.") ? h.substr(2) : h;
    if (is_ip(h) || !valid_hostname(name)) {
      ctx.report(pointer_join("/spec/hostnames", i),
                 "\"" + clip(h) + "\" is not a DNS hostname; TLSRoute hostnames must be names");
    }
  }
}

void check(const Object& route, RuleContext& ctx) {
  if (route.api_version() != "gateway.networking.k8s.io/v1") {
    ctx.report("/apiVersion", clip(route.api_version(), 50) +
                                  " is not served by Gateway API v1.5 CRDs; use "
                                  "gateway.networking.k8s.io/v1");
  }
  check_hostnames(route, ctx);
  const json* rules = spec_array(route, "rules");
  if (!rules || rules->size() != 1) {
    ctx.report("/spec/rules", "TLSRoute must have exactly one rule (has " +
                                  std::to_string(rules ? rules->size() : 0) + ")");
  }
  for (size_t i = 0; rules && i < rules->size(); ++i) {
    const json* refs = child((*rules)[i], "backendRefs");
    if (!refs || !refs->is_array() || refs->empty()) {
      ctx.report(pointer_join("/spec/rules", i), "TLSRoute rule needs at least one backendRef");
    }
  }
  // Each parentRef needs a TLS listener in Passthrough mode among those that admit TLSRoutes.
  std::vector<AttachedListener> attached = lattice_listeners(ctx.cluster(), route);
  for (size_t i = 0; i < attached.size();) {
    size_t parent = attached[i].parent_index;
    std::string pointer = attached[i].parent_pointer;
    bool passthrough = false;
    for (; i < attached.size() && attached[i].parent_index == parent; ++i) {
      const json* tls = child(*attached[i].listener, "tls");
      passthrough = passthrough || (str(*attached[i].listener, "protocol") == "TLS" && tls &&
                                    str(*tls, "mode") == "Passthrough");
    }
    if (!passthrough) {
      ctx.report(pointer,
                 "TLSRoute needs a TLS listener with tls.mode Passthrough on this Gateway");
    }
  }
}

}  // namespace

extern constinit const Rule kTlsrouteShape{
    .id = "tlsroute-shape",
    .catalogue = "UNSUP-05",
    .group = "unsupported",
    .summary =
        "A TLSRoute is not a shape VPC Lattice can serve (v1, one hostname, one rule, TLS "
        "passthrough listener)",
    .remediation =
        "Use apiVersion gateway.networking.k8s.io/v1, one DNS hostname, exactly one "
        "rule with backendRefs, and a TLS Passthrough listener",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = kReads,
    .check = check,
};

}  // namespace latticeguard
