#include "rules/core/lattice.h"

#include <algorithm>

#include "rules/core/json_key.h"

namespace latticeguard {

const json* child(const json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  const json::object_t& m = j.get_ref<const json::object_t&>();
  auto it = m.find(KeyView{key});
  return it == m.end() || it->second.is_null() ? nullptr : &it->second;
}

std::string str(const json& j, std::string_view key, std::string_view fallback) {
  const json* c = child(j, key);
  return c && c->is_string() ? c->get<std::string>() : std::string(fallback);
}

std::optional<int64_t> integer(const json& j, std::string_view key) {
  const json* c = child(j, key);
  if (c && c->is_number_integer()) return c->get<int64_t>();
  return std::nullopt;
}

bool is_lattice_class(const ClusterView& v, std::string_view class_name) {
  const Object* gc = v.find(kGatewayClass, "", class_name);
  if (!gc) return false;
  const json* spec = child(gc->doc(), "spec");
  return spec && str(*spec, "controllerName") == kLatticeController;
}

Tri gateway_is_lattice(const ClusterView& v, const Object& gateway) {
  const json* spec = child(gateway.doc(), "spec");
  std::string cls = spec ? str(*spec, "gatewayClassName") : "";
  if (const Object* gc = v.find(kGatewayClass, "", cls)) {
    const json* gspec = child(gc->doc(), "spec");
    return gspec && str(*gspec, "controllerName") == kLatticeController ? Tri::kYes : Tri::kNo;
  }
  // No such class known: in a closed world with classes present, it is someone else's;
  // otherwise we cannot tell (most repositories do not ship the GatewayClass).
  if (v.complete(kGatewayClass) && !v.list(kGatewayClass).empty()) return Tri::kNo;
  return Tri::kUnknown;
}

namespace {

std::vector<ResolvedParent> compute_parents(const ClusterView& v, const Object& route) {
  std::vector<ResolvedParent> out;
  const json* spec = child(route.doc(), "spec");
  const json* refs = spec ? child(*spec, "parentRefs") : nullptr;
  if (!refs || !refs->is_array()) return out;
  for (size_t i = 0; i < refs->size(); ++i) {
    const json& r = (*refs)[i];
    if (!r.is_object()) continue;
    ResolvedParent p;
    p.index = i;
    p.pointer = pointer_join("/spec/parentRefs", i);
    p.ref = &r;
    p.ns = str(r, "namespace", route.ns());
    p.name = str(r, "name");
    if (str(r, "group", kGatewayGroup) != kGatewayGroup || str(r, "kind", "Gateway") != "Gateway") {
      p.lattice = Tri::kNo;  // a Service parent (mesh) or another kind: not a Lattice Gateway
    } else {
      p.gateway = v.find(kGateway, p.ns, p.name);
      if (p.gateway) {
        p.lattice = gateway_is_lattice(v, *p.gateway);
      } else {
        p.lattice = Tri::kUnknown;
      }
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

std::vector<ResolvedParent> resolve_parents(const ClusterView& v, const Object& route) {
  FactMemo* memo = FactMemo::find(v);
  if (!memo) return compute_parents(v, route);
  auto [it, fresh] = memo->parents.try_emplace(&route);
  if (fresh) it->second = compute_parents(v, route);
  return it->second;
}

namespace {
thread_local FactMemo* tl_memo = nullptr;
}  // namespace

FactMemo::FactMemo(const ClusterView& view, const Config& cfg)
    : view_(&view), cfg_(&cfg), outer_(tl_memo) {
  tl_memo = this;
}

FactMemo::~FactMemo() { tl_memo = outer_; }

FactMemo* FactMemo::find(const ClusterView& view, const Config* cfg) {
  for (FactMemo* m = tl_memo; m; m = m->outer_) {
    if (m->view_ == &view && (!cfg || m->cfg_ == cfg)) return m;
  }
  return nullptr;
}

namespace {

bool compute_in_scope(const ClusterView& v, const Object& o, const Config& cfg) {
  const Kind k = o.kind();
  if (k == kGateway) {
    Tri t = gateway_is_lattice(v, o);
    return t == Tri::kYes || (t == Tri::kUnknown && (cfg.assume_lattice || cfg.open_world ||
                                                     v.list(kGatewayClass).empty()));
  }
  if (!is_route(k)) return true;
  bool any_unknown = false;
  for (const ResolvedParent& p : resolve_parents(v, o)) {
    if (p.lattice == Tri::kYes) return true;
    if (p.lattice == Tri::kUnknown) any_unknown = true;
  }
  // An unresolvable parent counts as Lattice only with --assume-lattice or when no
  // GatewayClass is present at all (DESIGN §2).
  return any_unknown && (cfg.assume_lattice || v.list(kGatewayClass).empty());
}

std::optional<Backing> compute_backing(const ClusterView& v, const Object& service,
                                       int service_port);

}  // namespace

bool in_scope(const ClusterView& v, const Object& o, const Config& cfg) {
  const Kind k = o.kind();
  if (k != kGateway && !is_route(k)) return true;
  FactMemo* memo = FactMemo::find(v, &cfg);
  if (!memo) return compute_in_scope(v, o, cfg);
  auto [it, fresh] = memo->scope.try_emplace(&o, false);
  if (fresh) it->second = compute_in_scope(v, o, cfg);
  return it->second;
}

std::optional<Backing> resolve_backing(const ClusterView& v, const Object& service,
                                       int service_port) {
  FactMemo* memo = FactMemo::find(v);
  if (!memo) return compute_backing(v, service, service_port);
  auto key = std::make_pair(&service, service_port);
  auto it = memo->backing.find(key);
  if (it == memo->backing.end()) {
    it = memo->backing.emplace(key, compute_backing(v, service, service_port)).first;
  }
  return it->second;
}

std::vector<size_t> matched_listeners(const Object& gateway, const json& ref) {
  std::vector<size_t> out;
  const json* spec = child(gateway.doc(), "spec");
  const json* ls = spec ? child(*spec, "listeners") : nullptr;
  if (!ls || !ls->is_array()) return out;
  const json* section = child(ref, "sectionName");
  std::optional<int64_t> port = integer(ref, "port");
  for (size_t i = 0; i < ls->size(); ++i) {
    const json& l = (*ls)[i];
    if (section && section->is_string() && str(l, "name") != section->get<std::string>()) continue;
    if (port && integer(l, "port") != port) continue;
    out.push_back(i);
  }
  return out;
}

bool listener_allows_kind(const json& listener, std::string_view route_kind) {
  const json* ar = child(listener, "allowedRoutes");
  const json* kinds = ar ? child(*ar, "kinds") : nullptr;
  if (kinds && kinds->is_array() && !kinds->empty()) {
    for (const json& k : *kinds) {
      if (str(k, "kind") == route_kind && str(k, "group", kGatewayGroup) == kGatewayGroup) {
        return true;
      }
    }
    return false;
  }
  std::string proto = str(listener, "protocol");
  if (proto == "HTTP") return route_kind == "HTTPRoute";
  if (proto == "HTTPS") return route_kind == "HTTPRoute" || route_kind == "GRPCRoute";
  if (proto == "TLS") return route_kind == "TLSRoute";
  return false;
}

Tri listener_allows_namespace(const ClusterView& v, const json& listener,
                              std::string_view gateway_ns, std::string_view route_ns) {
  const json* ar = child(listener, "allowedRoutes");
  const json* nss = ar ? child(*ar, "namespaces") : nullptr;
  std::string from = nss ? str(*nss, "from", "Same") : "Same";
  if (from == "All") return Tri::kYes;
  if (from == "Same") return gateway_ns == route_ns ? Tri::kYes : Tri::kNo;
  if (from == "Selector") {
    const json* sel = child(*nss, "selector");
    Result<LabelSelector> s = sel ? LabelSelector::from_json(*sel) : LabelSelector::none();
    if (!s) return Tri::kNo;
    const Object* ns = v.find(kNamespace, "", route_ns);
    if (!ns) return v.complete(kNamespace) ? Tri::kNo : Tri::kUnknown;
    const json* md = child(ns->doc(), "metadata");
    const json* labels = md ? child(*md, "labels") : nullptr;
    // The API server adds this label to every Namespace; files usually leave it out.
    json with_name = labels && labels->is_object() ? *labels : json::object();
    with_name["kubernetes.io/metadata.name"] = std::string(route_ns);
    return s->matches(with_name) ? Tri::kYes : Tri::kNo;
  }
  return Tri::kNo;
}

Tri is_production(const ClusterView& v, std::string_view ns, const Config& cfg) {
  if (cfg.production.matches_nothing()) return Tri::kNo;
  const Object* o = v.find(kNamespace, "", ns);
  if (!o) return Tri::kUnknown;
  const json* md = child(o->doc(), "metadata");
  const json* labels = md ? child(*md, "labels") : nullptr;
  json with_name = labels && labels->is_object() ? *labels : json::object();
  with_name["kubernetes.io/metadata.name"] = std::string(ns);
  return cfg.production.matches(with_name) ? Tri::kYes : Tri::kNo;
}

std::vector<BackendRef> backend_refs(const Object& route) {
  std::vector<BackendRef> out;
  const json* spec = child(route.doc(), "spec");
  const json* rules = spec ? child(*spec, "rules") : nullptr;
  if (!rules || !rules->is_array()) return out;
  for (size_t i = 0; i < rules->size(); ++i) {
    const json* refs = child((*rules)[i], "backendRefs");
    if (!refs || !refs->is_array()) continue;
    for (size_t j = 0; j < refs->size(); ++j) {
      const json& r = (*refs)[j];
      if (!r.is_object()) continue;
      BackendRef b;
      b.pointer.reserve(40);  // one allocation for "/spec/rules/<i>/backendRefs/<j>"
      b.pointer.append("/spec/rules/").append(std::to_string(i)).append("/backendRefs/");
      b.pointer.append(std::to_string(j));
      b.group = str(r, "group");
      b.kind = str(r, "kind", "Service");
      b.ns = str(r, "namespace", route.ns());
      b.name = str(r, "name");
      b.port = integer(r, "port");
      b.ref = &r;
      out.push_back(std::move(b));
    }
  }
  return out;
}

const json* pod_spec(const Object& workload) {
  const json* spec = child(workload.doc(), "spec");
  if (!spec) return nullptr;
  if (workload.kind() == kPod) return spec;
  const json* t = child(*spec, "template");
  return t ? child(*t, "spec") : nullptr;
}

std::string pod_spec_pointer(const Object& workload) {
  return workload.kind() == kPod ? "/spec" : "/spec/template/spec";
}

namespace {

const json* template_labels(const Object& w) {
  if (w.kind() == kPod) {
    const json* md = child(w.doc(), "metadata");
    return md ? child(*md, "labels") : nullptr;
  }
  const json* spec = child(w.doc(), "spec");
  const json* t = spec ? child(*spec, "template") : nullptr;
  const json* md = t ? child(*t, "metadata") : nullptr;
  return md ? child(*md, "labels") : nullptr;
}

// Resolves a probe/targetPort value (number or container port name) against a container.
int resolve_port(const json& value, const json& container) {
  if (value.is_number_integer()) return value.get<int>();
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    if (!s.empty() && std::all_of(s.begin(), s.end(), ::isdigit)) return std::stoi(s);
    if (const json* ports = child(container, "ports"); ports && ports->is_array()) {
      for (const json& p : *ports) {
        if (str(p, "name") == s) return static_cast<int>(integer(p, "containerPort").value_or(0));
      }
    }
  }
  return 0;
}

bool container_has_port(const json& container, int port) {
  const json* ports = child(container, "ports");
  if (!ports || !ports->is_array()) return false;
  for (const json& p : *ports) {
    if (integer(p, "containerPort") == port) return true;
  }
  return false;
}

bool container_has_port_name(const json& container, std::string_view name) {
  const json* ports = child(container, "ports");
  if (!ports || !ports->is_array()) return false;
  for (const json& p : *ports) {
    if (str(p, "name") == name) return true;
  }
  return false;
}

}  // namespace

std::vector<const Object*> selected_workloads(const ClusterView& v, const Object& service) {
  std::vector<const Object*> out;
  const json* spec = child(service.doc(), "spec");
  const json* sel = spec ? child(*spec, "selector") : nullptr;
  if (!sel || !sel->is_object() || sel->empty()) return out;
  // Candidates come from the index by the first selector pair, then must match all pairs.
  auto first = sel->begin();
  if (!first->is_string()) return out;
  for (const Object* w :
       v.referrers(edge::pod_label(service.ns(), first.key(), first->get<std::string>()))) {
    const json* labels = template_labels(*w);
    if (!labels) continue;
    bool all = true;
    for (auto& [k, val] : sel->items()) {
      const json* l = child(*labels, k);
      if (!l || *l != val) {
        all = false;
        break;
      }
    }
    if (all) out.push_back(w);
  }
  // Pods created by a workload duplicate its template; prefer the controllers.
  bool has_controller = std::any_of(out.begin(), out.end(), [](const Object* w) {
    return w->kind() != kPod && w->kind() != kReplicaSet;
  });
  if (has_controller) {
    std::erase_if(out,
                  [](const Object* w) { return w->kind() == kPod || w->kind() == kReplicaSet; });
  }
  std::sort(out.begin(), out.end(), [](const Object* a, const Object* b) {
    return std::tie(a->kind_name(), a->name()) < std::tie(b->kind_name(), b->name());
  });
  return out;
}

namespace {

std::optional<Backing> compute_backing(const ClusterView& v, const Object& service,
                                       int service_port) {
  const json* spec = child(service.doc(), "spec");
  const json* ports = spec ? child(*spec, "ports") : nullptr;
  if (!ports || !ports->is_array() || ports->empty()) return std::nullopt;
  const json* sp = nullptr;
  for (const json& p : *ports) {
    if (service_port == 0 || integer(p, "port") == service_port) {
      sp = &p;
      break;
    }
  }
  if (!sp) return std::nullopt;
  json target = sp->contains("targetPort") ? (*sp)["targetPort"] : json((*sp).value("port", 0));

  for (const Object* w : selected_workloads(v, service)) {
    const json* ps = pod_spec(*w);
    const json* containers = ps ? child(*ps, "containers") : nullptr;
    if (!containers || !containers->is_array()) continue;
    for (size_t i = 0; i < containers->size(); ++i) {
      const json& c = (*containers)[i];
      int tp = 0;
      if (target.is_string() &&
          !std::all_of(target.get_ref<const std::string&>().begin(),
                       target.get_ref<const std::string&>().end(), ::isdigit)) {
        if (!container_has_port_name(c, target.get<std::string>())) continue;
        tp = resolve_port(target, c);
      } else {
        tp = resolve_port(target, c);
        // A container owns the port when it declares it; with a single container the
        // declaration is optional (containerPort is informational in Kubernetes).
        if (!container_has_port(c, tp) && containers->size() > 1) continue;
      }
      Backing b;
      b.workload = w;
      b.container = &c;
      b.container_pointer = pointer_join(pointer_join(pod_spec_pointer(*w), "containers"), i);
      b.target_port = tp;
      for (const char* kind : {"readinessProbe", "startupProbe", "livenessProbe"}) {
        const json* probe = child(c, kind);
        if (!probe) continue;
        const json* get = child(*probe, "httpGet");
        if (!get) {
          b.non_http_probe = true;
          continue;
        }
        b.probe = probe;
        b.probe_kind = kind;
        b.probe_pointer = pointer_join(b.container_pointer, kind);
        b.probe_path = str(*get, "path", "/");
        b.probe_port = get->contains("port") ? resolve_port((*get)["port"], c) : 0;
        b.probe_scheme = str(*get, "scheme", "HTTP");
        b.non_http_probe = false;
        break;
      }
      return b;
    }
  }
  return std::nullopt;
}

}  // namespace

}  // namespace latticeguard
