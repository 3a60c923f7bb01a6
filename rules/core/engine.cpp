#include "rules/core/engine.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "rules/core/lattice.h"

namespace latticeguard {
namespace {

bool rule_applies(const Rule& r, Kind k) {
  return std::find(r.subjects.begin(), r.subjects.end(), k) != r.subjects.end();
}

// latticeguard.io/ignore: "rule-a,rule-b: reason". A reason is mandatory; without one the
// annotation is ignored so a bare id cannot silence a rule by accident.
std::string suppression_reason(const Object& o, std::string_view id) {
  const std::string* a = o.annotation(kIgnoreAnnotation);
  if (!a) return "";
  size_t colon = a->find(':');
  if (colon == std::string::npos) return "";
  std::string reason = a->substr(colon + 1);
  reason.erase(0, reason.find_first_not_of(' '));
  if (reason.empty()) return "";
  std::string_view ids(a->data(), colon);
  size_t pos = 0;
  while (pos <= ids.size()) {
    size_t next = ids.find(',', pos);
    if (next == std::string_view::npos) next = ids.size();
    std::string_view tok = ids.substr(pos, next - pos);
    while (!tok.empty() && tok.front() == ' ') tok.remove_prefix(1);
    while (!tok.empty() && tok.back() == ' ') tok.remove_suffix(1);
    if (tok == id || tok == "*") return reason;
    pos = next + 1;
  }
  return "";
}

auto finding_key(const Finding& f) { return std::make_tuple(rule_id(f), f.pointer, f.message); }

}  // namespace

bool is_enforced(const Finding& f) { return f.suppressed.empty() && f.action != Action::kOff; }

void sort_findings(std::vector<Finding>& f) {
  std::stable_sort(f.begin(), f.end(), [](const Finding& a, const Finding& b) {
    const Object* ao = a.object.get();
    const Object* bo = b.object.get();
    auto ka = std::make_tuple(ao ? ao->kind_name() : "", ao ? ao->ns() : "", ao ? ao->name() : "");
    auto kb = std::make_tuple(bo ? bo->kind_name() : "", bo ? bo->ns() : "", bo ? bo->name() : "");
    if (ka != kb) return ka < kb;
    if (a.pointer != b.pointer) return a.pointer < b.pointer;
    return rule_id(a) < rule_id(b);
  });
}

Engine::Engine(std::span<const Rule* const> rules, std::shared_ptr<const Config> config)
    : rules_(rules), config_(std::move(config)) {
  std::span<const Kind> kinds = known_kinds();
  by_kind_.resize(kinds.size());
  for (size_t i = 0; i < kinds.size(); ++i) {
    for (const Rule* r : rules_) {
      if (!rule_applies(*r, kinds[i])) continue;
      if (config_->action_for(r->id, r->default_action) == Action::kOff) continue;
      by_kind_[i].push_back(r);
    }
  }
}

std::span<const Rule* const> Engine::rules_for(Kind k) const {
  std::optional<size_t> i = known_kind_index(k);
  if (!i) return {};  // rules only ever subject known kinds
  return by_kind_[*i];
}

std::vector<Finding> Engine::check(const ObjectPtr& subject, const ClusterView& view, Operation op,
                                   const Object* old_object) const {
  std::vector<Finding> out;
  std::optional<FactMemo> memo;  // unless the caller holds one for this view already
  if (!FactMemo::find(view, config_.get())) memo.emplace(view, *config_);
  const Kind k = subject->kind();
  bool scoped = k == kGateway || is_route(k);
  bool scope_known = false, in = true;
  for (const Rule* r : rules_for(k)) {
    if (scoped && !scope_known) {
      in = in_scope(view, *subject, *config_);
      scope_known = true;
    }
    if (!in) break;
    size_t first = out.size();
    RuleContext ctx(*r, view, *config_, op, old_object, out, subject);
    r->check(*subject, ctx);
    for (size_t i = first; i < out.size(); ++i) {
      out[i].suppressed = suppression_reason(*subject, r->id);
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const Finding& a, const Finding& b) {
    return std::tie(a.pointer, a.rule->id) < std::tie(b.pointer, b.rule->id);
  });
  return out;
}

std::vector<Finding> Engine::check_all(const ClusterView& view) const {
  std::vector<Finding> out;
  FactMemo memo(view, *config_);
  for (const ObjectPtr& o : view.index().all()) {
    std::vector<Finding> f = check(o, view);
    std::move(f.begin(), f.end(), std::back_inserter(out));
  }
  sort_findings(out);
  return out;
}

std::vector<const Object*> Engine::dependents(const Object& o, const ClusterView& view) const {
  std::vector<const Object*> out;
  auto add = [&](const std::vector<const Object*>& v) {
    out.insert(out.end(), v.begin(), v.end());
  };
  const Kind k = o.kind();
  if (k == kService || k == kServiceImport) {
    add(view.referrers(edge::backend(k, o.ns(), o.name())));
    add(view.referrers(edge::target(kTargetGroupPolicy, kService, o.ns(), o.name())));
  } else if (k == kGateway) {
    add(view.referrers(edge::parent(o.ns(), o.name())));
  } else if (k == kGatewayClass) {
    for (const Object* gw : view.referrers(edge::gateway_class(o.name()))) {
      out.push_back(gw);
      add(view.referrers(edge::parent(gw->ns(), gw->name())));
    }
  } else if (k == kReferenceGrant) {
    add(view.referrers(edge::cross_ns_backend(o.ns())));
  } else if (is_policy(k)) {
    const json* spec = child(o.doc(), "spec");
    const json* t = spec ? child(*spec, "targetRef") : nullptr;
    if (t) {
      std::optional<Kind> tk = find_kind(str(*t, "group"), str(*t, "kind"));
      if (tk) {
        if (const Object* target = view.find(*tk, o.ns(), str(*t, "name"))) {
          out.push_back(target);
          if (*tk == kGateway) add(view.referrers(edge::parent(target->ns(), target->name())));
        }
      }
    }
  } else if (is_route(k)) {
    for (Kind pk : {kIAMAuthPolicy, kTargetGroupPolicy, kAccessLogPolicy}) {
      add(view.referrers(edge::target(pk, k, o.ns(), o.name())));
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  std::erase_if(out, [&](const Object* d) {
    return d->kind() == k && d->ns() == o.ns() && d->name() == o.name();
  });
  return out;
}

std::vector<Finding> Engine::check_impact(const Object& changed, const ClusterView& before,
                                          const ClusterView& after) const {
  std::vector<Finding> out;
  DocPins pins;  // the cached versions compared and re-checked below may be packed
  // An UPDATE that leaves everything rules read as it was (labels, bookkeeping) cannot change a
  // dependent's findings; a Gateway may have thousands of routes to re-check otherwise.
  const Object* prev = before.find(changed.kind(), changed.ns(), changed.name());
  const Object* next = after.find(changed.kind(), changed.ns(), changed.name());
  if (prev && next && same_for_rules(*prev, *next)) return out;
  std::set<ObjectKey> seen;
  std::vector<const Object*> deps = dependents(changed, before);
  for (const Object* d : dependents(changed, after)) deps.push_back(d);
  for (const Object* d : deps) {
    ObjectKey key = ObjectKey::of(*d);
    if (!seen.insert(key).second) continue;
    ObjectPtr b = before.index().get(key);
    const Object* after_obj = after.find(d->kind(), d->ns(), d->name());
    if (!after_obj) continue;
    ObjectPtr a = after.index().get(key);
    if (!a || a.get() != after_obj) continue;  // the dependent is the reviewed object itself
    std::vector<Finding> now = check(a, after);
    std::erase_if(now, [](const Finding& f) { return !is_enforced(f); });
    if (now.empty()) continue;  // nothing to compare with the findings before the change
    std::set<std::tuple<std::string_view, std::string, std::string>> was;
    if (b) {
      for (const Finding& f : check(b, before)) was.insert(finding_key(f));
    }
    for (Finding& f : now) {
      if (was.count(finding_key(f))) continue;
      out.push_back(std::move(f));
    }
  }
  sort_findings(out);
  return out;
}

std::vector<Finding> Engine::check_removal(const Object& deleted, const ClusterView& before,
                                           const ClusterView& after) const {
  return check_impact(deleted, before, after);
}

}  // namespace latticeguard
