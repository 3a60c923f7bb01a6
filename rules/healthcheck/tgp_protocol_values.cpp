// HC-09: TargetGroupPolicy protocol/protocolVersion values, overrides and changes.
#include "rules/core/lattice.h"
#include "rules/core/rule.h"
#include "rules/core/target_group.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kTargetGroupPolicy};
constexpr Kind kReads[] = {kHTTPRoute, kGRPCRoute, kTLSRoute, kServiceExport, kGateway};

// The protocol pair the controller would use from this policy alone ("" version for TCP).
std::pair<std::string, std::string> effective(const Object& tgp) {
  const json* spec = child(tgp.doc(), "spec");
  std::string p = spec ? str(*spec, "protocol", "HTTP") : "HTTP";
  std::string ver = spec ? str(*spec, "protocolVersion", p == "TCP" ? "" : "HTTP1") : "HTTP1";
  return {p, ver};
}

void check(const Object& tgp, RuleContext& ctx) {
  const json* spec = child(tgp.doc(), "spec");
  if (!spec) return;
  const json* protocol = child(*spec, "protocol");
  const json* version = child(*spec, "protocolVersion");
  std::string p = protocol && protocol->is_string() ? protocol->get<std::string>() : "";
  std::string ver = version && version->is_string() ? version->get<std::string>() : "";
  bool bad = false;
  if (protocol && p != "HTTP" && p != "HTTPS" && p != "TCP") {
    ctx.report("/spec/protocol", "protocol \"" + p + "\" is not HTTP, HTTPS or TCP");
    bad = true;
  }
  if (version && ver != "HTTP1" && ver != "HTTP2") {
    ctx.report("/spec/protocolVersion", "protocolVersion \"" + ver + "\" is not HTTP1 or HTTP2");
    bad = true;
  } else if (version && p == "TCP") {
    ctx.report("/spec/protocolVersion",
               "protocolVersion is not supported with protocol TCP; the controller rejects the "
               "policy");
    bad = true;
  }

  if (ctx.operation() == Operation::kUpdate && ctx.old_object()) {
    auto before = effective(*ctx.old_object());
    auto after = effective(tgp);
    if (before != after) {
      std::string field = before.first != after.first ? "protocol" : "protocolVersion";
      ctx.report("/spec/" + field,
                 "changing " + field +
                     " replaces the Lattice target group (brief outage while "
                     "targets register)",
                 Level::kWarn);
    }
  }
  if (bad || (!protocol && !version)) return;

  // Values the controller overrides for the route kind (or export routeType) using the target.
  TargetUse u = policy_use(ctx.cluster(), ctx.config(), tgp);
  if (u.tls_by && protocol && p != "TCP") {
    ctx.report("/spec/protocol",
               "ignored: " + u.tls_by->display() + " makes this a TCP target group", Level::kInfo);
  }
  if (u.grpc_by && version) {
    ctx.report("/spec/protocolVersion",
               "ignored: " + u.grpc_by->display() + " makes this a GRPC target group",
               Level::kInfo);
  }
}

}  // namespace

extern constinit const Rule kTgpProtocolValues{
    .id = "tgp-protocol-values",
    .catalogue = "HC-09",
    .group = "healthcheck",
    .summary =
        "A TargetGroupPolicy sets an invalid protocol/protocolVersion or one that is "
        "overridden",
    .remediation =
        "Use protocol HTTP, HTTPS or TCP and protocolVersion HTTP1 or HTTP2; leave "
        "protocolVersion unset with TCP",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = kReads,
    .check = check,
};

}  // namespace latticeguard
