// UNSUP-06: annotations the controller does not read, reads differently, or owns itself.
#include "rules/core/lattice.h"
#include "rules/core/route_shape.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kGateway, kHTTPRoute, kGRPCRoute, kTLSRoute, kServiceExport};
constexpr std::string_view kPrefix = "application-networking.k8s.aws/";

std::string at(std::string_view key) {
  return pointer_join("/metadata/annotations", std::string(kPrefix) + std::string(key));
}

void check(const Object& o, RuleContext& ctx) {
  auto ann = [&](std::string_view key) {
    return o.annotation(std::string(kPrefix) + std::string(key));
  };
  const Kind k = o.kind();
  if (k == kGateway && o.annotation(std::string(kPrefix) + "lattice-vpc-association")) {
    ctx.report(at("lattice-vpc-association"),
               "lattice-vpc-association is not read by the controller; use a VpcAssociationPolicy",
               Level::kInfo);
  }
  if (k != kServiceExport) {
    if (const std::string* s = ann("standalone"); s && *s != "true" && *s != "false") {
      ctx.report(at("standalone"), "standalone \"" + clip(*s, 20) +
                                       "\" is treated as false; use \"true\" or \"false\"");
    }
  }
  if (k == kTLSRoute && ann("service-name-override")) {
    ctx.report(at("service-name-override"),
               "service-name-override on a TLSRoute works in the controller but is undocumented",
               Level::kInfo);
  }
  if (k == kServiceExport && ann("port")) {
    const json* spec = child(o.doc(), "spec");
    if (spec && child(*spec, "exportedPorts")) {
      ctx.report(at("port"), "the port annotation is ignored when spec.exportedPorts is set");
    }
  }
  if (is_route(k) && ctx.operation() == Operation::kCreate) {
    for (std::string_view owned : {"lattice-assigned-domain-name", "lattice-service-arn"}) {
      if (ann(owned)) {
        ctx.report(at(owned), std::string(owned) +
                                  " is written by the controller; a value set here is overwritten");
      }
    }
  }
}

}  // namespace

extern constinit const Rule kIneffectiveAnnotations{
    .id = "ineffective-annotations",
    .catalogue = "UNSUP-06",
    .group = "unsupported",
    .summary = "An application-networking.k8s.aws annotation has no effect where it is set",
    .remediation =
        "Remove the annotation or use its supported form (standalone: \"true\"/"
        "\"false\", VpcAssociationPolicy, spec.exportedPorts)",
    .default_action = Action::kWarn,
    .subjects = kSubjects,
    .reads = {},
    .check = check,
};

}  // namespace latticeguard
