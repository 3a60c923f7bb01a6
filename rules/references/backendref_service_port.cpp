// REF-03: a Service backendRef names a port the Service exposes (the Service port, not the
// targetPort); a port on a ServiceImport is ignored.
#include "rules/core/lattice.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kHTTPRoute, kGRPCRoute, kTLSRoute};
constexpr Kind kReads[] = {kService};

// "80, 443" from spec.ports[].port, at most a handful so the message stays short.
std::string port_list(const json& ports) {
  std::string out;
  size_t n = 0;
  for (const json& p : ports) {
    std::optional<int64_t> port = integer(p, "port");
    if (!port) continue;
    if (++n > 4) return out + ", ...";
    if (!out.empty()) out += ", ";
    out += std::to_string(*port);
  }
  return out;
}

void check_service_port(const BackendRef& b, const Object& svc, RuleContext& ctx) {
  const json* spec = child(svc.doc(), "spec");
  const json* ports = spec ? child(*spec, "ports") : nullptr;
  if (!ports || !ports->is_array() || ports->empty()) return;  // headless/ExternalName shapes
  const json* by_target = nullptr;
  for (const json& p : *ports) {
    if (integer(p, "port") == b.port) return;
    const json* tp = child(p, "targetPort");
    if (tp && tp->is_number_integer() && tp->get<int64_t>() == *b.port) by_target = &p;
  }
  std::string port = std::to_string(*b.port);
  std::string msg;
  if (by_target) {
    msg = port + " is the targetPort; use the Service port " +
          std::to_string(integer(*by_target, "port").value_or(0)) +
          " (Lattice registers no targets otherwise)";
  } else {
    msg = "Service " + b.ns + "/" + b.name + " has no port " + port + " (it exposes " +
          port_list(*ports) + "); Lattice registers no targets";
  }
  ctx.report(pointer_join(b.pointer, "port"), std::move(msg));
}

void check(const Object& route, RuleContext& ctx) {
  const ClusterView& v = ctx.cluster();
  for (const BackendRef& b : backend_refs(route)) {
    if (b.kind == "ServiceImport") {
      if (b.port) {
        ctx.report(pointer_join(b.pointer, "port"),
                   "port is ignored on a ServiceImport backend; Lattice uses the exported port",
                   Level::kInfo);
      }
      continue;
    }
    if (b.kind != "Service" || !b.group.empty()) continue;  // backendref-invalid-kind
    if (!b.port) {
      ctx.report(b.pointer, "backendRef to a Service must set port (the Service port)");
      continue;
    }
    // An unknown Service is backendref-not-found's finding (or unknown in an open world).
    if (const Object* svc = v.find(kService, b.ns, b.name)) check_service_port(b, *svc, ctx);
  }
}

}  // namespace

extern constinit const Rule kBackendrefServicePort{
    .id = "backendref-service-port",
    .catalogue = "REF-03",
    .group = "references",
    .summary = "A Service backendRef lacks a port or names a port the Service does not expose",
    .remediation =
        "Set backendRef.port to one of the Service's spec.ports[].port values (the "
        "Service port, not the container targetPort)",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = kReads,
    .check = check,
};

}  // namespace latticeguard
