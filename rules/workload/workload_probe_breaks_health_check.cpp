// A workload change that moves the probe a TargetGroupPolicy health check was written for.
// Opt-in: it needs the webhook to intercept Deployments, StatefulSets and DaemonSets.
#include <algorithm>
#include <memory>
#include <set>

#include "rules/core/lattice.h"
#include "rules/core/route_shape.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kDeployment, kStatefulSet, kDaemonSet};
constexpr Kind kReads[] = {kService, kTargetGroupPolicy};

const json* template_labels(const Object& w) {
  const json* spec = child(w.doc(), "spec");
  const json* t = spec ? child(*spec, "template") : nullptr;
  const json* md = t ? child(*t, "metadata") : nullptr;
  const json* labels = md ? child(*md, "labels") : nullptr;
  return labels && labels->is_object() ? labels : nullptr;
}

// Services in the workload's namespace whose whole selector matches its pod labels.
std::vector<const Object*> selecting_services(const ClusterView& v, const Object& w) {
  std::vector<const Object*> out;
  const json* labels = template_labels(w);
  if (!labels) return out;
  for (auto& [key, value] : labels->items()) {
    if (!value.is_string()) continue;
    std::string edge_key = edge::attr(
        "svc-selector", edge::service_selector_key(w.ns(), key, value.get<std::string>()));
    for (const Object* svc : v.referrers(edge_key)) {
      const json* spec = child(svc->doc(), "spec");
      const json* sel = spec ? child(*spec, "selector") : nullptr;
      if (!sel || !sel->is_object()) continue;
      bool all = true;
      for (auto& [k, want] : sel->items()) {
        const json* l = child(*labels, k);
        all = all && l && *l == want;
      }
      if (all && std::find(out.begin(), out.end(), svc) == out.end()) out.push_back(svc);
    }
  }
  return out;
}

struct HealthCheck {
  const Object* tgp = nullptr;
  std::optional<std::string> path;
  std::optional<int64_t> port;
};

std::optional<HealthCheck> explicit_check(const Object& tgp) {
  const json* spec = child(tgp.doc(), "spec");
  const json* hc = spec ? child(*spec, "healthCheck") : nullptr;
  if (!hc) return std::nullopt;
  if (const json* en = child(*hc, "enabled"); en && en->is_boolean() && !en->get<bool>()) {
    return std::nullopt;
  }
  HealthCheck out{&tgp, std::nullopt, integer(*hc, "port")};
  if (const json* p = child(*hc, "path"); p && p->is_string()) out.path = p->get<std::string>();
  if (!out.path && !out.port) return std::nullopt;
  return out;
}

// The probe of `w` behind `svc`, when resolve_backing lands on that workload.
std::optional<Backing> probe_of(const ClusterView& v, const Object& svc, const Object& w) {
  std::optional<Backing> b = resolve_backing(v, svc);
  if (!b || !b->probe || b->workload->kind() != w.kind() || b->workload->name() != w.name()) {
    return std::nullopt;
  }
  return b;
}

// The field of the probe that no longer matches, or "" when it matches.
std::string mismatch(const Backing& b, const HealthCheck& hc) {
  if (hc.path && b.probe_path != *hc.path) return "path";
  if (hc.port && b.probe_port != 0 && b.probe_port != *hc.port) return "port";
  return "";
}

void check(const Object& w, RuleContext& ctx) {
  const ClusterView& v = ctx.cluster();
  std::optional<ClusterView> before;
  std::shared_ptr<const Object> old;
  if (ctx.operation() == Operation::kUpdate && ctx.old_object()) {
    old = std::make_shared<const Object>(*ctx.old_object());
    before = v.with(old);
  }
  std::set<std::string> reported;
  for (const Object* svc : selecting_services(v, w)) {
    for (const Object* tgp :
         v.referrers(edge::target(kTargetGroupPolicy, kService, svc->ns(), svc->name()))) {
      std::optional<HealthCheck> hc = explicit_check(*tgp);
      std::optional<Backing> now = probe_of(v, *svc, w);
      if (!hc || !now) continue;
      std::string field = mismatch(*now, *hc);
      if (field.empty()) continue;
      if (before) {  // only a change that breaks a matching probe
        std::optional<Backing> was = probe_of(*before, *svc, *old);
        if (!was || !mismatch(*was, *hc).empty()) continue;
      }
      std::string pointer = now->probe_pointer + "/httpGet/" + field;
      if (!reported.insert(pointer + tgp->name()).second) continue;
      std::string want = field == "path" ? clip(*hc->path, 24) : std::to_string(*hc->port);
      ctx.report(pointer, now->probe_kind + " " + field + " is not the health check " + field +
                              " " + want + " of TargetGroupPolicy " + clip(tgp->name(), 24));
    }
  }
}

}  // namespace

extern constinit const Rule kWorkloadProbeBreaksHealthCheck{
    .id = "workload-probe-breaks-health-check",
    .catalogue = "HC-01",
    .group = "workload",
    .summary =
        "A workload change moves the probe a TargetGroupPolicy health check relies on "
        "(opt-in)",
    .remediation =
        "Update the TargetGroupPolicy healthCheck path/port in the same change, or keep "
        "the probe where it was",
    .default_action = Action::kOff,
    .subjects = kSubjects,
    .reads = kReads,
    .check = check,
};

}  // namespace latticeguard
