// REF-12: a ServiceExport exports a port its Service does not expose.
#include "rules/core/lattice.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kServiceExport};
constexpr Kind kReads[] = {kService};
constexpr std::string_view kServiceNameAnnotation = "application-networking.k8s.aws/service-name";
constexpr std::string_view kPortAnnotation = "application-networking.k8s.aws/port";

std::string trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return std::string(s);
}

bool service_has_port(const Object& svc, int64_t port) {
  const json* spec = child(svc.doc(), "spec");
  const json* ports = spec ? child(*spec, "ports") : nullptr;
  if (!ports || !ports->is_array()) return false;
  for (const json& p : *ports) {
    if (integer(p, "port") == port) return true;
  }
  return false;
}

std::string ports_of(const Object& svc) {
  std::string out;
  const json* spec = child(svc.doc(), "spec");
  const json* ports = spec ? child(*spec, "ports") : nullptr;
  if (ports && ports->is_array()) {
    for (const json& p : *ports) {
      if (auto n = integer(p, "port")) out += (out.empty() ? "" : ", ") + std::to_string(*n);
    }
  }
  return out.empty() ? "none" : out;
}

void check(const Object& e, RuleContext& ctx) {
  const ClusterView& v = ctx.cluster();
  const std::string* named = e.annotation(kServiceNameAnnotation);
  std::string svc_name = named && !trim(*named).empty() ? trim(*named) : e.name();
  const std::string* legacy = e.annotation(kPortAnnotation);
  const std::string legacy_ptr = "/metadata/annotations/" + pointer_escape(kPortAnnotation);
  const json* spec = child(e.doc(), "spec");
  const json* exported = spec ? child(*spec, "exportedPorts") : nullptr;
  bool has_exported = exported && exported->is_array() && !exported->empty();
  if (has_exported && legacy) {
    ctx.report(legacy_ptr, "annotation ignored: spec.exportedPorts takes precedence", Level::kWarn);
  }
  const Object* svc = v.find(kService, e.ns(), svc_name);
  if (!svc) {
    if (v.complete(kService)) {
      ctx.report(named ? "/metadata/annotations/" + pointer_escape(kServiceNameAnnotation)
                       : "/metadata/name",
                 "Service " + e.ns() + "/" + svc_name + " does not exist; nothing is exported",
                 Level::kWarn);
    }
    return;
  }
  auto missing = [&](int64_t port) {
    return "Service " + svc->ns() + "/" + svc_name + " has no port " + std::to_string(port) +
           " (ports: " + ports_of(*svc) + "); no targets would be registered";
  };
  if (has_exported) {
    for (size_t i = 0; i < exported->size(); ++i) {
      std::optional<int64_t> port = integer((*exported)[i], "port");
      if (port && !service_has_port(*svc, *port)) {
        ctx.report(pointer_join(pointer_join("/spec/exportedPorts", i), "port"), missing(*port));
      }
    }
    return;
  }
  if (!legacy) return;
  std::string_view rest = *legacy;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string tok = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (tok.empty()) continue;
    if (tok.find_first_not_of("0123456789") != std::string::npos || tok.size() > 5) {
      ctx.report(legacy_ptr, "port \"" + tok + "\" is not a port number");
      continue;
    }
    if (!service_has_port(*svc, std::stoll(tok))) ctx.report(legacy_ptr, missing(std::stoll(tok)));
  }
}

}  // namespace

extern constinit const Rule kServiceexportPort{
    .id = "serviceexport-port",
    .catalogue = "REF-12",
    .group = "references",
    .summary = "A ServiceExport exports a port its Service does not expose, or has no Service",
    .remediation =
        "Export a spec.ports[].port of the Service (the Service port, not the "
        "targetPort), or fix the service-name annotation",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = kReads,
    .check = check,
};

}  // namespace latticeguard
