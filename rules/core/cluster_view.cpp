#include "rules/core/cluster_view.h"

#include <algorithm>
#include <cctype>

#include "rules/core/lattice.h"
#include "rules/core/names.h"

namespace latticeguard {

namespace edge {
namespace {
std::string join(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) {
    if (!out.empty()) out += '\x1f';
    out += p;
  }
  return out;
}
}  // namespace

std::string backend(Kind k, std::string_view ns, std::string_view name) {
  return join({"backend", k.group, k.kind, ns, name});
}
std::string parent(std::string_view gw_ns, std::string_view gw_name) {
  return join({"parent", gw_ns, gw_name});
}
std::string target(Kind policy, Kind target, std::string_view ns, std::string_view name) {
  return join({"target", policy.kind, target.group, target.kind, ns, name});
}
std::string pod_label(std::string_view ns, std::string_view key, std::string_view value) {
  return join({"label", ns, key, value});
}
std::string gateway_class(std::string_view class_name) { return join({"class", class_name}); }
std::string cross_ns_backend(std::string_view backend_ns) { return join({"xns", backend_ns}); }
std::string export_of(std::string_view ns, std::string_view service) {
  return join({"export", ns, service});
}
std::string grant_from(std::string_view grant_ns, std::string_view from_group,
                       std::string_view from_kind, std::string_view from_ns) {
  return join({"grant", grant_ns, from_group, from_kind, from_ns});
}
std::string attr(std::string_view name, std::string_view value) {
  return join({"attr", name, value});
}
std::string custom_domain_key(std::string_view gateway_name, std::string_view host) {
  std::string h(host);
  for (char& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::string(gateway_name) + "|" + h;
}
std::string service_selector_key(std::string_view ns, std::string_view key,
                                 std::string_view value) {
  return std::string(ns) + "|" + std::string(key) + "=" + std::string(value);
}
}  // namespace edge

std::vector<std::string> edges_of(const Object& o) {
  std::vector<std::string> out;
  const Kind k = o.kind();
  const json& doc = o.doc();
  if (is_route(k)) {
    for (const BackendRef& b : backend_refs(o)) {
      std::optional<Kind> bk = find_kind(b.group.empty() ? "" : b.group, b.kind);
      if (b.kind == "ServiceImport") bk = kServiceImport;
      if (bk) out.push_back(edge::backend(*bk, b.ns, b.name));
      if (b.ns != o.ns()) out.push_back(edge::cross_ns_backend(b.ns));
    }
    if (const json* spec = child(doc, "spec")) {
      // hostnames[0] is the Lattice custom domain; a service network is named after its
      // Gateway (namespace ignored), so "<gateway name>|<host>" finds duplicates in one lookup.
      const json* hosts = child(*spec, "hostnames");
      const json* first = hosts && hosts->is_array() && !hosts->empty() ? &(*hosts)[0] : nullptr;
      if (const json* prs = child(*spec, "parentRefs"); prs && prs->is_array()) {
        for (const json& r : *prs) {
          if (!r.is_object() || str(r, "kind", "Gateway") != "Gateway") continue;
          out.push_back(edge::parent(str(r, "namespace", o.ns()), str(r, "name")));
          if (first && first->is_string()) {
            out.push_back(
                edge::attr("custom-domain",
                           edge::custom_domain_key(str(r, "name"), first->get<std::string>())));
          }
        }
      }
    }
    out.push_back(edge::attr(kLatticeServiceEdge, lattice_service_name(o)));
  } else if (is_policy(k)) {
    if (const json* spec = child(doc, "spec")) {
      if (const json* t = child(*spec, "targetRef"); t && t->is_object()) {
        std::string group = str(*t, "group");
        std::string kind = str(*t, "kind");
        // Keys use the kind constant's storage so string_views stay valid.
        std::optional<Kind> tk = find_kind(group, kind);
        if (tk) out.push_back(edge::target(k, *tk, o.ns(), str(*t, "name")));
      }
    }
  } else if (is_workload(k)) {
    const json* labels = nullptr;
    if (k == kPod) {
      if (const json* md = child(doc, "metadata")) labels = child(*md, "labels");
    } else if (const json* spec = child(doc, "spec")) {
      if (const json* t = child(*spec, "template")) {
        if (const json* md = child(*t, "metadata")) labels = child(*md, "labels");
      }
    }
    if (labels && labels->is_object()) {
      for (auto& [key, v] : labels->items()) {
        if (v.is_string()) out.push_back(edge::pod_label(o.ns(), key, v.get<std::string>()));
      }
    }
  } else if (k == kGateway) {
    if (const json* spec = child(doc, "spec")) {
      out.push_back(edge::gateway_class(str(*spec, "gatewayClassName")));
    }
    out.push_back(edge::attr(kGatewayNameEdge, o.name()));  // one service network per name
  } else if (k == kService) {
    // Workload -> Services selecting it: keyed by the selector's first pair (sorted); readers
    // verify the rest of the selector.
    if (const json* spec = child(doc, "spec")) {
      const json* sel = child(*spec, "selector");
      if (sel && sel->is_object() && !sel->empty() && sel->begin()->is_string()) {
        out.push_back(edge::attr("svc-selector",
                                 edge::service_selector_key(o.ns(), sel->begin().key(),
                                                            sel->begin()->get<std::string>())));
      }
    }
  } else if (k == kReferenceGrant) {
    if (const json* spec = child(doc, "spec")) {
      if (const json* from = child(*spec, "from"); from && from->is_array()) {
        for (const json& f : *from) {
          out.push_back(
              edge::grant_from(o.ns(), str(f, "group"), str(f, "kind"), str(f, "namespace")));
        }
      }
    }
  } else if (k == kServiceExport) {
    const std::string* svc = o.annotation("application-networking.k8s.aws/service-name");
    out.push_back(edge::export_of(o.ns(), svc ? *svc : o.name()));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

namespace {

// A query hashes its edge key once and probes every shard with that hash (the heterogeneous
// lookup of C++20 unordered containers), instead of hashing it again per shard.
struct HashedKey {
  std::string_view key;
  size_t hash;
};
struct EdgeHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  size_t operator()(const HashedKey& h) const { return h.hash; }
};
struct EdgeEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
  bool operator()(const HashedKey& a, std::string_view b) const { return a.key == b; }
  bool operator()(std::string_view a, const HashedKey& b) const { return a == b.key; }
};

// One bit of a 64-bit filter per edge type and first field ("backend" + group, "attr" + name,
// "label" + namespace, ...): a shard whose filter lacks the bit holds no such edge, so a query
// probes only the few kinds that declare edges of its type instead of every kind's table.
uint64_t edge_bit(std::string_view key) {
  size_t first = key.find('\x1f');
  size_t second = first == std::string_view::npos ? first : key.find('\x1f', first + 1);
  return uint64_t{1} << (std::hash<std::string_view>{}(key.substr(0, second)) & 63);
}

}  // namespace

struct ObjectIndex::Shard {
  std::map<std::pair<std::string, std::string>, ObjectPtr, PairLess> objects;  // (ns, name)
  std::unordered_map<std::string, std::vector<const Object*>, EdgeHash, EdgeEq> edges;
  uint64_t edge_types = 0;  // edge_bit() of every edge ever added (erasing leaves bits set)
};

ObjectIndex::Shard& ObjectIndex::mutable_shard(const std::string& group, const std::string& kind) {
  auto it = shards_.find(std::pair<std::string_view, std::string_view>(group, kind));
  if (it == shards_.end()) {
    it = shards_.emplace(ShardKey{group, kind}, std::make_shared<Shard>()).first;
  } else if (it->second.use_count() > 1) {
    it->second = std::make_shared<Shard>(*it->second);  // copy on write: a snapshot shares it
  }
  return *it->second;
}

const ObjectIndex::Shard* ObjectIndex::shard(std::string_view group, std::string_view kind) const {
  auto it = shards_.find(std::make_pair(group, kind));
  return it == shards_.end() ? nullptr : it->second.get();
}

ObjectPtr ObjectIndex::put(ObjectPtr obj) {
  DocPins pins;  // edges of packed objects are read from a decoded copy, freed on return
  Shard& s = mutable_shard(obj->group(), obj->kind_name());
  auto [it, fresh] = s.objects.try_emplace(std::make_pair(obj->ns(), obj->name()));
  ObjectPtr replaced = std::move(it->second);
  if (replaced) {
    for (const std::string& e : edges_of(*replaced)) {
      auto& vec = s.edges[e];
      std::erase(vec, replaced.get());
      if (vec.empty()) s.edges.erase(e);
    }
  }
  for (std::string& e : edges_of(*obj)) {
    s.edge_types |= edge_bit(e);
    s.edges[std::move(e)].push_back(obj.get());  // the key moves in when it is new
  }
  it->second = std::move(obj);
  return replaced;
}

bool ObjectIndex::erase(const ObjectKey& key) {
  DocPins pins;
  if (!shard(key.group, key.kind)) return false;
  Shard& s = mutable_shard(key.group, key.kind);
  auto it = s.objects.find(std::pair<std::string_view, std::string_view>(key.ns, key.name));
  if (it == s.objects.end()) return false;
  for (const std::string& e : edges_of(*it->second)) {
    auto& vec = s.edges[e];
    std::erase(vec, it->second.get());
    if (vec.empty()) s.edges.erase(e);
  }
  s.objects.erase(it);
  return true;
}

void ObjectIndex::clear_kind(Kind k) {
  if (auto it = shards_.find(std::make_pair(k.group, k.kind)); it != shards_.end()) {
    shards_.erase(it);
  }
}

ObjectPtr ObjectIndex::get(const ObjectKey& key) const {
  const Shard* s = shard(key.group, key.kind);
  if (!s) return nullptr;
  auto it = s->objects.find(std::pair<std::string_view, std::string_view>(key.ns, key.name));
  return it == s->objects.end() ? nullptr : it->second;
}

const Object* ObjectIndex::find(Kind k, std::string_view ns, std::string_view name) const {
  const Shard* s = shard(k.group, k.kind);
  if (!s) return nullptr;
  auto it = s->objects.find(std::make_pair(ns, name));
  return it == s->objects.end() ? nullptr : it->second.get();
}

std::vector<const Object*> ObjectIndex::list(Kind k) const {
  std::vector<const Object*> out;
  if (const Shard* s = shard(k.group, k.kind)) {
    out.reserve(s->objects.size());
    for (const auto& [key, o] : s->objects) out.push_back(o.get());
  }
  return out;
}

std::vector<ObjectPtr> ObjectIndex::all() const {
  std::vector<ObjectPtr> out;
  for (const auto& [key, s] : shards_) {
    for (const auto& [k2, o] : s->objects) out.push_back(o);
  }
  return out;
}

std::vector<const Object*> ObjectIndex::referrers(const std::string& edge_key) const {
  std::vector<const Object*> out;
  const HashedKey hashed{edge_key, EdgeHash{}(edge_key)};
  const uint64_t bit = edge_bit(edge_key);
  for (const auto& [key, s] : shards_) {
    if (!(s->edge_types & bit) || s->edges.empty()) continue;
    auto it = s->edges.find(hashed);
    if (it != s->edges.end()) out.insert(out.end(), it->second.begin(), it->second.end());
  }
  return out;
}

size_t ObjectIndex::size() const {
  size_t n = 0;
  for (const auto& [key, s] : shards_) n += s->objects.size();
  return n;
}

size_t ObjectIndex::count(Kind k) const {
  const Shard* s = shard(k.group, k.kind);
  return s ? s->objects.size() : 0;
}

void ObjectIndex::set_complete(Kind k, bool complete) {
  complete_[ShardKey{std::string(k.group), std::string(k.kind)}] = complete;
}
void ObjectIndex::set_all_complete(bool complete) {
  complete_.clear();
  default_complete_ = complete;
}
bool ObjectIndex::complete(Kind k) const {
  auto it = complete_.find(std::make_pair(k.group, k.kind));
  return it == complete_.end() ? default_complete_ : it->second;
}

ClusterView ClusterView::with(ObjectPtr obj) const {
  ClusterView v(*index_);
  v.added_edges_ = edges_of(*obj);
  v.added_ = std::move(obj);
  return v;
}

ClusterView ClusterView::without(const ObjectKey& key) const {
  ClusterView v(*index_);
  v.removed_ = key;
  return v;
}

bool ClusterView::hidden(const Object& o) const {
  auto same = [&](const std::string& g, const std::string& k, const std::string& ns,
                  const std::string& n) {
    return o.group() == g && o.kind_name() == k && o.ns() == ns && o.name() == n;
  };
  if (added_ && &o != added_.get() &&
      same(added_->group(), added_->kind_name(), added_->ns(), added_->name())) {
    return true;
  }
  return removed_ && same(removed_->group, removed_->kind, removed_->ns, removed_->name);
}

const Object* ClusterView::find(Kind k, std::string_view ns, std::string_view name) const {
  if (added_ && added_->kind() == k && added_->ns() == ns && added_->name() == name) {
    return added_.get();
  }
  const Object* o = index_->find(k, ns, name);
  return o && !hidden(*o) ? o : nullptr;
}

std::vector<const Object*> ClusterView::list(Kind k) const {
  std::vector<const Object*> out = index_->list(k);
  std::erase_if(out, [&](const Object* o) { return hidden(*o); });
  if (added_ && added_->kind() == k) {
    auto pos = std::lower_bound(
        out.begin(), out.end(), added_.get(), [](const Object* a, const Object* b) {
          return std::tie(a->ns(), a->name()) < std::tie(b->ns(), b->name());
        });
    out.insert(pos, added_.get());
  }
  return out;
}

std::vector<const Object*> ClusterView::referrers(const std::string& edge_key) const {
  std::vector<const Object*> out = index_->referrers(edge_key);
  std::erase_if(out, [&](const Object* o) { return hidden(*o); });
  if (added_ && std::binary_search(added_edges_.begin(), added_edges_.end(), edge_key)) {
    out.push_back(added_.get());
  }
  return out;
}

}  // namespace latticeguard
