#include "webhook/decision.h"

#include <algorithm>
#include <set>

#include "rules/core/doc_cache.h"
#include "rules/core/fix.h"
#include "rules/registry.h"

namespace latticeguard::webhook {
namespace {

latticeguard::Operation to_rule_op(Operation op) {
  switch (op) {
    case Operation::kCreate:
      return latticeguard::Operation::kCreate;
    case Operation::kUpdate:
      return latticeguard::Operation::kUpdate;
    case Operation::kDelete:
      return latticeguard::Operation::kDelete;
    case Operation::kConnect:
      return latticeguard::Operation::kConnect;
  }
  return latticeguard::Operation::kCreate;
}

// The API server truncates long warnings; 120 characters keeps kubectl output on one line.
constexpr size_t kMaxWarning = 120;

std::string shorten(std::string s) {
  if (s.size() <= kMaxWarning) return s;
  // Keep the rule id: it is how the user finds the documentation.
  size_t id = s.rfind(" [");
  std::string tail = id == std::string::npos ? "" : s.substr(id);
  size_t keep = kMaxWarning > tail.size() + 3 ? kMaxWarning - tail.size() - 3 : 0;
  return s.substr(0, keep) + "..." + tail;
}

// Objects under review may come with generateName and no name yet.
Result<Object> object_of(const AdmissionRequest& req, json d) {
  if (d.is_object()) {
    json& md = d["metadata"];
    if (md.is_object() && (!md.contains("name") || !md["name"].is_string() ||
                           md["name"].get_ref<const std::string&>().empty())) {
      std::string name = req.name;
      if (name.empty() && md.contains("generateName") && md["generateName"].is_string()) {
        name = md["generateName"].get<std::string>() + "(generated)";
      }
      if (!name.empty()) md["name"] = name;
    }
    if (md.is_object() && !req.ns.empty() && !md.contains("namespace")) md["namespace"] = req.ns;
  }
  return Object::from_json(std::move(d), req.ns);
}

struct Verdict {
  std::vector<std::string> deny, warn;
  std::vector<RuleHit> hits;
};

void collect(const std::vector<Finding>& findings, const Object* reviewed, Verdict& v) {
  for (const Finding& f : findings) {
    if (!is_enforced(f) || f.action == Action::kAudit) continue;
    std::string line = to_warning(f);
    // Findings on other objects (DELETE/UPDATE impact) name the object they break.
    if (f.object && reviewed &&
        (f.object->kind_name() != reviewed->kind_name() || f.object->ns() != reviewed->ns() ||
         f.object->name() != reviewed->name())) {
      line = f.object->display() + " " + line;
    }
    v.hits.push_back(RuleHit{std::string(rule_id(f)), std::string(to_string(f.action))});
    if (f.action == Action::kDeny) {
      v.deny.push_back(std::move(line));
    } else {
      v.warn.push_back(shorten(std::move(line)));
    }
  }
}

AdmissionResponse respond(Verdict v, const std::string& subject) {
  AdmissionResponse r;
  if (!v.deny.empty()) {
    std::string msg = "latticeguard denied " + subject + ":";
    for (const std::string& d : v.deny) msg += "\n" + d;
    r = denied(std::move(msg), std::move(v.warn));
  } else {
    r = allowed();
    r.warnings = std::move(v.warn);
  }
  r.rule_hits = std::move(v.hits);
  return r;
}

}  // namespace

bool handles_kind(std::string_view group, std::string_view kind) {
  std::optional<Kind> k = find_kind(group, kind);
  if (!k) return false;
  // Kinds some rule checks, plus kinds whose removal or change breaks others.
  for (const Rule* r : all_rules()) {
    for (const Kind& s : r->subjects) {
      if (s == *k) return true;
    }
  }
  return *k == kService || *k == kReferenceGrant || *k == kGatewayClass || *k == kNamespace;
}

Decider::Decider(std::shared_ptr<const ClusterState> state, std::shared_ptr<const Config> config)
    : state_(std::move(state)) {
  set_config(std::move(config));
}

void Decider::set_config(std::shared_ptr<const Config> config) {
  engine_.store(std::make_shared<const Engine>(all_rules(), std::move(config)));
}

AdmissionResponse Decider::validate(AdmissionRequest req) const {
  if (req.operation == Operation::kConnect || !handles_kind(req.group, req.kind)) return allowed();
  DocCache::Filling fill;  // the next review reads the same Gateways, Namespaces and Services
  std::shared_ptr<const Engine> engine = engine_.load();
  std::shared_ptr<const ObjectIndex> snap = state_->snapshot();
  ClusterView base(*snap);
  Verdict v;
  bool synced = state_->synced();
  if (!synced) {
    if (!engine->config().fail_open_until_synced) {
      return denied(
          "latticeguard: the cluster cache is not synced yet; retry shortly "
          "(failOpenUntilSynced is false)");
    }
    v.warn.push_back("latticeguard: cluster cache not synced; checks of other objects skipped");
  }

  if (req.operation == Operation::kDelete) {
    if (!req.old_object.is_object()) return allowed();
    Result<Object> old = object_of(req, std::move(req.old_object));
    if (!old) return errored(400, "cannot evaluate oldObject: " + old.error().message);
    auto gone = std::make_shared<const Object>(std::move(*old));
    ClusterView before = base.with(gone);
    ClusterView after = base.without(ObjectKey::of(*gone));
    collect(engine->check_removal(*gone, before, after), gone.get(), v);
    return respond(std::move(v), "deleting " + gone->display());
  }

  Result<Object> obj = object_of(req, std::move(req.object));
  if (!obj) return errored(400, "cannot evaluate object: " + obj.error().message);
  auto subject = std::make_shared<const Object>(std::move(*obj));
  ClusterView after = base.with(subject);
  std::optional<Object> old;
  if (req.operation == Operation::kUpdate && req.old_object.is_object()) {
    if (Result<Object> o = object_of(req, std::move(req.old_object))) old = std::move(*o);
  }
  collect(engine->check(subject, after, to_rule_op(req.operation), old ? &*old : nullptr),
          subject.get(), v);
  if (req.operation == Operation::kUpdate && old) {
    // What this change breaks elsewhere (a Gateway listener change detaching routes, ...).
    auto old_ptr = std::make_shared<const Object>(*old);
    ClusterView before = base.with(old_ptr);
    collect(engine->check_impact(*subject, before, after), subject.get(), v);
  }
  return respond(std::move(v), subject->display());
}

AdmissionResponse Decider::mutate(AdmissionRequest req) const {
  if ((req.operation != Operation::kCreate && req.operation != Operation::kUpdate) ||
      !handles_kind(req.group, req.kind) || !req.object.is_object()) {
    return allowed();
  }
  DocCache::Filling fill;
  std::shared_ptr<const Engine> engine = engine_.load();
  Result<Object> obj = object_of(req, std::move(req.object));
  if (!obj) return allowed();  // validation reports malformed objects
  auto subject = std::make_shared<const Object>(std::move(*obj));
  std::shared_ptr<const ObjectIndex> snap = state_->snapshot();
  ClusterView view = ClusterView(*snap).with(subject);
  std::vector<Finding> findings = engine->check(subject, view, to_rule_op(req.operation));
  std::vector<Fix> fixes =
      safe_fixes(view, *subject, engine->config(), to_rule_op(req.operation), findings);
  if (fixes.empty()) return allowed();
  // raw() is the object as received (before schema defaults), so the patch applies to it.
  json fixed = apply_fixes(subject->raw(), fixes);
  json patch = make_patch(subject->raw(), fixed);
  if (patch.empty()) return allowed();
  std::vector<std::string> notes;
  for (const Fix& f : fixes) notes.push_back(shorten("latticeguard: " + f.title));
  AdmissionResponse r = patched(std::move(patch), std::move(notes));
  return r;
}

}  // namespace latticeguard::webhook
