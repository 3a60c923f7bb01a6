// UNSUP-03: Gateway listener settings the Lattice controller cannot program or ignores.
#include "re2/re2.h"
#include "rules/core/lattice.h"
#include "rules/core/route_shape.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kGateway};
constexpr std::string_view kCertArn = "application-networking.k8s.aws/certificate-arn";

bool kind_fits(std::string_view protocol, std::string_view kind) {
  if (protocol == "HTTP") return kind == "HTTPRoute";
  if (protocol == "HTTPS") return kind == "HTTPRoute" || kind == "GRPCRoute";
  return protocol == "TLS" && kind == "TLSRoute";
}

// tls.mode as written: the schema default (Terminate) does not make a TLS listener passthrough.
std::string written_mode(const Object& gw, size_t i) {
  const json* spec = child(gw.raw(), "spec");
  const json* ls = spec ? child(*spec, "listeners") : nullptr;
  if (!ls || !ls->is_array() || i >= ls->size()) return "";
  const json* tls = child((*ls)[i], "tls");
  return tls ? str(*tls, "mode") : "";
}

void check_tls(const Object& gw, const json& l, size_t i, const std::string& lp, RuleContext& ctx) {
  static const RE2 kArn(R"(arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+)");
  std::string protocol = str(l, "protocol");
  const json* tls = child(l, "tls");
  if (protocol == "TLS" && written_mode(gw, i) != "Passthrough") {
    ctx.report(lp + "/tls",
               "TLS listener needs tls.mode: Passthrough set explicitly; Lattice "
               "only passes TLS through");
  }
  if (protocol != "HTTPS" || !tls) return;
  if (str(*tls, "mode") == "Passthrough") {
    ctx.report(lp + "/tls/mode",
               "HTTPS listener must terminate TLS; use protocol TLS for "
               "passthrough");
    return;
  }
  const json* opts = child(*tls, "options");
  const json* arn = opts ? child(*opts, kCertArn) : nullptr;
  if (arn) {
    if (!arn->is_string() || !RE2::FullMatch(arn->get<std::string>(), kArn)) {
      ctx.report(pointer_join(lp + "/tls/options", kCertArn),
                 "certificate-arn is not an ACM certificate ARN (arn:aws:acm:<region>:<account>:"
                 "certificate/<id>)",
                 Level::kWarn);
    }
    return;
  }
  if (const json* refs = child(*tls, "certificateRefs");
      refs && refs->is_array() && !refs->empty()) {
    ctx.report(lp + "/tls/certificateRefs",
               "VPC Lattice ignores certificateRefs Secrets; set tls.options certificate-arn to "
               "an ACM certificate",
               Level::kWarn);
  }
}

void check(const Object& gw, RuleContext& ctx) {
  const json* ls = spec_array(gw, "listeners");
  for (size_t i = 0; ls && i < ls->size(); ++i) {
    const json& l = (*ls)[i];
    std::string lp = pointer_join("/spec/listeners", i);
    std::string protocol = str(l, "protocol");
    if (protocol != "HTTP" && protocol != "HTTPS" && protocol != "TLS") {
      ctx.report(lp + "/protocol", "protocol " + clip(protocol, 20) +
                                       " is not supported by VPC Lattice (use HTTP, HTTPS or TLS)");
      continue;
    }
    check_tls(gw, l, i, lp, ctx);
    const json* ar = child(l, "allowedRoutes");
    const json* kinds = ar ? child(*ar, "kinds") : nullptr;
    for (size_t k = 0; kinds && kinds->is_array() && k < kinds->size(); ++k) {
      std::string kind = str((*kinds)[k], "kind");
      if (kind_fits(protocol, kind) && str((*kinds)[k], "group", kGatewayGroup) == kGatewayGroup) {
        continue;
      }
      ctx.report(pointer_join(lp + "/allowedRoutes/kinds", k),
                 clip(kind, 30) + " cannot attach to a VPC Lattice " + protocol +
                     " listener (InvalidRouteKinds)");
    }
  }
  const json* spec = child(gw.doc(), "spec");
  for (const char* field : {"addresses", "infrastructure"}) {
    if (spec && child(*spec, field)) {
      ctx.report(std::string("/spec/") + field,
                 std::string("spec.") + field + " is ignored by the VPC Lattice controller",
                 Level::kInfo);
    }
  }
}

}  // namespace

extern constinit const Rule kListenerConfig{
    .id = "listener-config",
    .catalogue = "UNSUP-03",
    .group = "unsupported",
    .summary =
        "A Lattice Gateway listener uses a protocol, TLS mode, certificate source or route "
        "kind the controller cannot program",
    .remediation =
        "Use HTTP, HTTPS (Terminate, certificate-arn option) or TLS (mode Passthrough) "
        "listeners and only the route kinds each accepts",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = {},
    .check = check,
};

}  // namespace latticeguard
