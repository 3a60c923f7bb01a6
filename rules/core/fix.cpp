#include "rules/core/fix.h"

#include <re2/re2.h>

#include <algorithm>

#include "rules/core/lattice.h"

namespace latticeguard {
namespace {

int64_t clamp(int64_t v, int64_t lo, int64_t hi) { return std::max(lo, std::min(hi, v)); }

json op_add(std::string path, json value) {
  return json{{"op", "add"}, {"path", std::move(path)}, {"value", std::move(value)}};
}

// Adds `value` at /a/b/c, creating missing parents as one object so the op applies to raw docs.
void add_field(json& ops, const json& raw, const std::vector<std::string>& path, json value) {
  const json* cur = &raw;
  std::string ptr;
  for (size_t i = 0; i < path.size(); ++i) {
    const json* next = cur->is_object() && cur->contains(path[i]) && !(*cur)[path[i]].is_null()
                           ? &(*cur)[path[i]]
                           : nullptr;
    if (!next || i + 1 == path.size()) {
      json v = std::move(value);
      for (size_t j = path.size(); j-- > i + 1;) v = json{{path[j], std::move(v)}};
      if (next && i + 1 == path.size()) return;  // already set: never overwrite user values
      std::string at = pointer_join(ptr, path[i]);
      // An earlier op already creates this parent (raw is not updated between calls): merge
      // into it, or the second add would replace the first.
      for (json& op : ops) {
        if (op["path"] == at && op["value"].is_object() && v.is_object()) {
          op["value"].merge_patch(v);
          return;
        }
      }
      ops.push_back(op_add(std::move(at), std::move(v)));
      return;
    }
    ptr = pointer_join(ptr, path[i]);
    cur = next;
  }
}

const json* at(const json& j, std::initializer_list<std::string_view> keys) {
  const json* cur = &j;
  for (std::string_view k : keys) {
    cur = child(*cur, k);
    if (!cur) return nullptr;
  }
  return cur;
}

}  // namespace

std::optional<Fix> healthcheck_fix(const ClusterView& v, const Object& tgp) {
  const json& raw = tgp.raw();
  const json* target = at(tgp.doc(), {"spec", "targetRef"});
  if (!target || str(*target, "kind") != "Service") return std::nullopt;
  const Object* svc = v.find(kService, tgp.ns(), str(*target, "name"));
  if (!svc) return std::nullopt;
  std::optional<Backing> b = resolve_backing(v, *svc);
  if (!b || !b->probe) return std::nullopt;
  const json& probe = *b->probe;
  const json* hc = at(raw, {"spec", "healthCheck"});
  auto has = [&](std::string_view k) { return hc && child(*hc, k); };

  json fill = json::object();
  auto set = [&](const std::string& key, json value) {
    if (!has(key)) fill[key] = std::move(value);
  };
  const json* spec = child(tgp.doc(), "spec");
  std::string protocol = spec ? str(*spec, "protocol", "HTTP") : "HTTP";
  std::string version = spec ? str(*spec, "protocolVersion", "HTTP1") : "HTTP1";
  // Lattice turns health checks off by default for HTTP2, gRPC and TCP target groups.
  if (protocol == "TCP" || version == "HTTP2" || version == "GRPC") {
    set("enabled", true);
    set("protocolVersion", "HTTP1");
  }
  set("path", b->probe_path);
  if (b->probe_port != 0 && b->probe_port != b->target_port) set("port", b->probe_port);
  if (b->probe_scheme == "HTTPS") set("protocol", "HTTPS");
  int64_t interval = clamp(integer(probe, "periodSeconds").value_or(10), 5, 300);
  int64_t timeout = clamp(integer(probe, "timeoutSeconds").value_or(1), 1, 120);
  if (hc && integer(*hc, "intervalSeconds")) interval = *integer(*hc, "intervalSeconds");
  if (timeout >= interval) timeout = std::max<int64_t>(1, interval - 1);
  set("intervalSeconds", interval);
  set("timeoutSeconds", timeout);
  set("unhealthyThresholdCount", clamp(integer(probe, "failureThreshold").value_or(3), 2, 10));
  set("healthyThresholdCount",
      clamp(std::max<int64_t>(integer(probe, "successThreshold").value_or(1), 2), 2, 10));
  // Kubernetes httpGet probes count 200-399 as success.
  set("statusMatch", "200-399");
  if (fill.empty()) return std::nullopt;
  json ops = json::array();
  if (!hc) {
    add_field(ops, raw, {"spec", "healthCheck"}, std::move(fill));
  } else {
    for (auto& [k, val] : fill.items()) add_field(ops, raw, {"spec", "healthCheck", k}, val);
  }
  Fix f;
  f.title = "fill healthCheck from the " + b->probe_kind + " of " + b->workload->display() +
            " (path " + b->probe_path + ")";
  f.ops = std::move(ops);
  return f;
}

std::optional<Fix> federation_fix(const Object& export_obj) {
  const std::string* a = export_obj.annotation(kFederationAnnotation);
  if (a && *a == kFederationValue) return std::nullopt;
  Fix f;
  f.title = "add annotation " + std::string(kFederationAnnotation) + ": " +
            std::string(kFederationValue);
  if (a) {
    f.ops.push_back(json{{"op", "replace"},
                         {"path", "/metadata/annotations/" + pointer_escape(kFederationAnnotation)},
                         {"value", kFederationValue}});
  } else {
    add_field(f.ops, export_obj.raw(),
              {"metadata", "annotations", std::string(kFederationAnnotation)},
              std::string(kFederationValue));
  }
  return f;
}

bool valid_hostname(std::string_view h) {
  static const RE2 kLabel("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
  if (h.empty() || h.size() > 253) return false;
  size_t pos = 0;
  while (pos <= h.size()) {
    size_t next = h.find('.', pos);
    if (next == std::string_view::npos) next = h.size();
    if (!RE2::FullMatch(h.substr(pos, next - pos), kLabel)) return false;
    pos = next + 1;
  }
  return true;
}

std::string render_hostname(const Config& cfg, std::string_view route, std::string_view ns) {
  if (cfg.hostname_domain.empty()) return "";
  std::string out = cfg.hostname_template;
  auto replace = [&](std::string_view key, std::string_view value) {
    for (size_t p; (p = out.find(key)) != std::string::npos;) out.replace(p, key.size(), value);
  };
  replace("{route}", route);
  replace("{namespace}", ns);
  replace("{domain}", cfg.hostname_domain);
  std::transform(out.begin(), out.end(), out.begin(), ::tolower);
  return valid_hostname(out) ? out : "";
}

namespace {
bool hostname_matches(std::string_view listener, std::string_view host) {
  if (listener.starts_with("*.")) {
    std::string_view suffix = listener.substr(1);
    return host.size() > suffix.size() && host.ends_with(suffix);
  }
  return listener == host;
}
}  // namespace

std::optional<Fix> hostname_fix(const ClusterView& v, const Object& route, const Config& cfg) {
  Kind k = route.kind();
  if (k != kHTTPRoute && k != kGRPCRoute) return std::nullopt;
  const json* hosts = at(route.raw(), {"spec", "hostnames"});
  if (hosts && hosts->is_array() && !hosts->empty()) return std::nullopt;
  std::string host = render_hostname(cfg, route.name(), route.ns());
  if (host.empty()) return std::nullopt;
  // The hostname must intersect every listener hostname the route attaches to (DOM-02).
  for (const ResolvedParent& p : resolve_parents(v, route)) {
    if (!p.gateway || p.lattice != Tri::kYes) continue;
    const json* ls = at(p.gateway->doc(), {"spec", "listeners"});
    for (size_t i : matched_listeners(*p.gateway, *p.ref)) {
      std::string lh = str((*ls)[i], "hostname");
      if (!lh.empty() && !hostname_matches(lh, host)) return std::nullopt;
    }
  }
  Fix f;
  f.title = "add hostname " + host;
  add_field(f.ops, route.raw(), {"spec", "hostnames"}, json::array({host}));
  if (f.ops.empty()) {
    f.ops.push_back(op_add("/spec/hostnames", json::array({host})));  // hostnames: [] or null
  }
  return f;
}

std::vector<Fix> safe_fixes(const ClusterView& v, const Object& o, const Config& cfg,
                            Operation op, std::span<const Finding> findings) {
  std::vector<Fix> out;
  const Kind k = o.kind();
  if ((k == kHTTPRoute || k == kGRPCRoute) && op == Operation::kCreate && in_scope(v, o, cfg)) {
    if (auto f = hostname_fix(v, o, cfg)) out.push_back(std::move(*f));
  }
  if (k == kTargetGroupPolicy && (op == Operation::kCreate || op == Operation::kUpdate)) {
    const json* t = at(o.raw(), {"spec", "targetRef"});
    if (t && t->is_object() && !child(*t, "group")) {
      std::string kind = str(*t, "kind");
      Fix f;
      f.title = "make targetRef.group explicit";
      f.ops.push_back(op_add("/spec/targetRef/group",
                             kind == "ServiceExport" ? std::string(kLatticeGroup) : ""));
      out.push_back(std::move(f));
    }
    if (auto f = healthcheck_fix(v, o)) out.push_back(std::move(*f));
  }
  if (k == kServiceExport && (op == Operation::kCreate || op == Operation::kUpdate)) {
    if (auto f = federation_fix(o)) out.push_back(std::move(*f));
  }
  // Rules attach some of the same fixes to their findings; offer each change once.
  for (const Finding& f : findings) {
    if (!f.fix || f.object.get() != &o) continue;
    if (std::none_of(out.begin(), out.end(), [&](const Fix& x) { return x.ops == f.fix->ops; })) {
      out.push_back(*f.fix);
    }
  }
  return out;
}

namespace {

// Applies one "add"/"replace" op without exceptions; false when it does not apply.
bool apply_op(json& doc, const json& op) {
  if (!op.is_object() || !op.contains("path") || !op["path"].is_string()) return false;
  std::string kind = op.value("op", "");
  std::vector<std::string> segs = pointer_tokens(op["path"].get<std::string>());
  if (segs.empty() || (kind != "add" && kind != "replace")) return false;
  json* cur = &doc;
  for (size_t i = 0; i + 1 < segs.size(); ++i) {
    if (cur->is_object()) {
      auto it = cur->find(segs[i]);
      if (it == cur->end()) return false;
      cur = &*it;
    } else if (cur->is_array()) {
      size_t idx = 0;
      if (segs[i].empty() || segs[i].find_first_not_of("0123456789") != std::string::npos) return false;
      idx = std::stoul(segs[i]);
      if (idx >= cur->size()) return false;
      cur = &(*cur)[idx];
    } else {
      return false;
    }
  }
  const std::string& last = segs.back();
  const json& value = op.contains("value") ? op["value"] : json();
  if (cur->is_object()) {
    if (kind == "replace" && !cur->contains(last)) return false;
    (*cur)[last] = value;
    return true;
  }
  if (cur->is_array() && kind == "add" && last == "-") {
    cur->push_back(value);
    return true;
  }
  return false;
}

}  // namespace

json apply_fixes(const json& doc, std::span<const Fix> fixes) {
  json out = doc;
  for (const Fix& f : fixes) {
    json next = out;
    bool ok = f.ops.is_array();
    for (size_t i = 0; ok && i < f.ops.size(); ++i) ok = apply_op(next, f.ops[i]);
    if (ok) out = std::move(next);  // a fix applies whole or not at all
  }
  return out;
}

json make_patch(const json& before, const json& after) { return json::diff(before, after); }

}  // namespace latticeguard
