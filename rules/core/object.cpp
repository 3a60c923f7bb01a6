#include "rules/core/object.h"

#include <algorithm>
#include <array>
#include <functional>
#include <iterator>

#include "rules/core/defaults.h"
#include "rules/core/doc_cache.h"

namespace latticeguard {
namespace {

// Sorted by (group, kind) for binary search.
constexpr std::array kKnownKinds = {
    kNamespace,     kPod,           kService,        kAccessLogPolicy,   kIAMAuthPolicy,
    kServiceExport, kServiceImport, kServiceNetwork, kTargetGroupPolicy, kVpcAssociationPolicy,
    kDaemonSet,     kDeployment,    kReplicaSet,     kStatefulSet,       kGRPCRoute,
    kGateway,       kGatewayClass,  kHTTPRoute,      kReferenceGrant,    kTLSRoute,
};

constexpr bool kinds_sorted() {
  for (size_t i = 1; i < kKnownKinds.size(); ++i) {
    const Kind& a = kKnownKinds[i - 1];
    const Kind& b = kKnownKinds[i];
    if (a.group > b.group || (a.group == b.group && a.kind >= b.kind)) return false;
  }
  return true;
}
static_assert(kinds_sorted(), "kKnownKinds must stay sorted for known_kind_index()");

}  // namespace

std::span<const Kind> known_kinds() { return kKnownKinds; }

bool is_route(Kind k) { return k == kHTTPRoute || k == kGRPCRoute || k == kTLSRoute; }
bool is_policy(Kind k) {
  return k == kTargetGroupPolicy || k == kIAMAuthPolicy || k == kVpcAssociationPolicy ||
         k == kAccessLogPolicy;
}
bool is_workload(Kind k) {
  return k == kDeployment || k == kStatefulSet || k == kDaemonSet || k == kReplicaSet || k == kPod;
}
bool is_cluster_scoped(Kind k) { return k == kNamespace || k == kGatewayClass; }

std::optional<size_t> known_kind_index(Kind k) {
  auto it =
      std::lower_bound(kKnownKinds.begin(), kKnownKinds.end(), k, [](const Kind& a, const Kind& b) {
        return a.group != b.group ? a.group < b.group : a.kind < b.kind;
      });
  if (it == kKnownKinds.end() || *it != k) return std::nullopt;
  return static_cast<size_t>(it - kKnownKinds.begin());
}

std::optional<Kind> find_kind(std::string_view group, std::string_view kind) {
  if (std::optional<size_t> i = known_kind_index(Kind{group, kind})) return kKnownKinds[*i];
  // ServiceImport also exists as multicluster.x-k8s.io; the controller checks only the kind.
  if (group == "multicluster.x-k8s.io" && kind == "ServiceImport") return kServiceImport;
  return std::nullopt;
}

std::string_view api_group(std::string_view api_version) {
  size_t slash = api_version.find('/');
  return slash == std::string_view::npos ? std::string_view{} : api_version.substr(0, slash);
}

Result<Object> Object::from_json(json doc, std::string_view default_namespace, Origin origin) {
  if (!doc.is_object()) return Error{"object is not a mapping"};
  auto av = doc.find("apiVersion");
  if (av == doc.end()) return Error{"missing field apiVersion"};
  if (!av->is_string()) return Error{"apiVersion: expected a string", 0, 0, "/apiVersion"};
  auto kd = doc.find("kind");
  if (kd == doc.end()) return Error{"missing field kind"};
  if (!kd->is_string()) return Error{"kind: expected a string", 0, 0, "/kind"};
  auto md = doc.find("metadata");
  if (md == doc.end()) return Error{"missing field metadata"};
  if (!md->is_object()) return Error{"metadata: expected a mapping", 0, 0, "/metadata"};
  auto nm = md->find("name");
  if (nm == md->end()) {
    if (md->contains("generateName"))
      return Error{"metadata.generateName is not supported; set metadata.name", 0, 0, "/metadata"};
    return Error{"missing field metadata.name", 0, 0, "/metadata"};
  }
  if (!nm->is_string() || nm->get_ref<const std::string&>().empty())
    return Error{"metadata.name: expected a non-empty string", 0, 0, "/metadata/name"};
  auto ns = md->find("namespace");
  if (ns != md->end() && !ns->is_string() && !ns->is_null())
    return Error{"metadata.namespace: expected a string", 0, 0, "/metadata/namespace"};
  for (const char* f : {"labels", "annotations"}) {
    auto it = md->find(f);
    if (it == md->end() || it->is_null()) continue;
    if (!it->is_object()) {
      return Error{std::string("metadata.") + f + ": expected a mapping", 0, 0,
                   std::string("/metadata/") + f};
    }
    for (auto& [k, v] : it->items()) {
      if (!v.is_string())
        return Error{std::string("metadata.") + f + "." + k + ": expected a string value", 0, 0,
                     std::string("/metadata/") + f + "/" + pointer_escape(k)};
    }
  }

  Object o;
  o.api_version_ = av->get<std::string>();
  o.group_ = std::string(api_group(o.api_version_));
  o.kind_ = kd->get<std::string>();
  if (o.group_ == "multicluster.x-k8s.io" && o.kind_ == "ServiceImport") {
    o.group_ = std::string(kLatticeGroup);
  }
  o.name_ = nm->get<std::string>();
  if (ns != md->end() && ns->is_string()) o.ns_ = ns->get<std::string>();
  std::optional<Kind> known = find_kind(o.group_, o.kind_);
  o.known_ = known;
  if (known && is_cluster_scoped(*known)) {
    o.ns_.clear();
  } else if (o.ns_.empty()) {
    o.ns_ = std::string(default_namespace);
  }
  // A review's raw() differs from doc() only where defaults are written; most objects need
  // none, and then one document serves both and the read-only walk is the only one.
  bool write = known.has_value();
  if (origin == Origin::kReview && known) {
    Result<bool> change = schema_defaults_change(*known, doc);
    if (!change) return change.error();
    write = *change;
  }
  std::shared_ptr<json> copy =
      origin == Origin::kReview && write ? std::make_shared<json>(doc) : nullptr;
  if (write) {
    if (Status s = apply_schema_defaults(*known, doc); !s) return s.error();
  }
  // Rules read doc() only, so what they never read is dropped wherever raw() does not share it:
  // API server objects are never patched, and file objects read raw() from their source.
  // After the defaults, whose shape checks still see (and report) every field.
  if (origin != Origin::kReview && known) drop_unread(*known, doc);
  o.doc_ = std::make_shared<const json>(std::move(doc));
  if (copy) {
    o.raw_ = std::move(copy);
  } else if (origin == Origin::kFile) {
    o.lazy_ = std::make_shared<LazyRaw>();
  } else {
    o.raw_ = o.doc_;
  }
  return o;
}

namespace {

bool labels_read(Kind k) { return k == kNamespace || k == kPod; }

// Of metadata, besides the annotations annotation_read() accepts: identity, creationTimestamp
// (policy-conflict ordering) and, on some kinds, labels.
bool metadata_field_read(Kind k, std::string_view key) {
  if (key == "name" || key == "namespace" || key == "uid" || key == "creationTimestamp") {
    return true;
  }
  return key == "labels" && labels_read(k);
}

bool annotation_read(std::string_view key) {
  return key.starts_with("application-networking.k8s.aws/") || key.starts_with("latticeguard.io/");
}

// Erases the members of the mapping `j` that `keep` rejects, in place: what stays is not
// reallocated, and most documents have little or nothing to drop.
template <class Keep>
void erase_unless(json& j, Keep keep) {
  if (!j.is_object()) return;
  json::object_t& m = j.get_ref<json::object_t&>();
  for (auto it = m.begin(); it != m.end();) {
    it = keep(it->first, it->second) ? std::next(it) : m.erase(it);
  }
}

void keep_only(json& j, std::initializer_list<std::string_view> fields) {
  erase_unless(j, [&](const std::string& key, const json&) {
    return std::find(fields.begin(), fields.end(), key) != fields.end();
  });
}

// Of a pod spec, rules read the containers' names, ports and probes (a Service's targetPort and
// the health check's probe resolve there); images, env, resources, volumes, init containers and
// the rest are dropped, which is most of a workload.
void drop_unread_pod_spec(json& pod_spec) {
  keep_only(pod_spec, {"containers"});
  auto cs = pod_spec.find("containers");
  if (cs == pod_spec.end() || !cs->is_array()) return;
  for (json& c : *cs) {
    keep_only(c, {"name", "ports", "readinessProbe", "livenessProbe", "startupProbe"});
  }
}

void drop_unread_workload_spec(Kind k, json& doc) {
  auto spec = doc.find("spec");
  if (spec == doc.end() || !spec->is_object()) return;
  if (k == kPod) {
    drop_unread_pod_spec(*spec);
    return;
  }
  // Controllers: the selector, and of the template its pod labels and pod spec.
  keep_only(*spec, {"selector", "template"});
  auto t = spec->find("template");
  if (t == spec->end() || !t->is_object()) return;
  keep_only(*t, {"metadata", "spec"});
  if (auto md = t->find("metadata"); md != t->end()) keep_only(*md, {"labels"});
  if (auto ps = t->find("spec"); ps != t->end()) drop_unread_pod_spec(*ps);
}

}  // namespace

void drop_unread(Kind k, json& doc) {
  if (!doc.is_object()) return;
  doc.erase("status");
  if (is_workload(k)) drop_unread_workload_spec(k, doc);
  auto md = doc.find("metadata");
  if (md == doc.end() || !md->is_object()) return;
  erase_unless(*md, [&](const std::string& key, json& value) {
    if (metadata_field_read(k, key)) return true;
    if (key != "annotations" || !value.is_object()) return false;
    erase_unless(value, [](const std::string& a, const json&) { return annotation_read(a); });
    return !value.empty();
  });
}

namespace {

// Whether the members of two mappings that `keep` accepts are equal, without copying either.
// Object members iterate in key order, so the kept members pair up in one merge-like walk.
template <class Keep>
bool equal_kept(const json& a, const json& b, Keep keep) {
  auto ia = a.begin(), ib = b.begin();
  while (true) {
    while (ia != a.end() && !keep(ia.key(), *ia)) ++ia;
    while (ib != b.end() && !keep(ib.key(), *ib)) ++ib;
    if (ia == a.end() || ib == b.end()) return ia == a.end() && ib == b.end();
    if (ia.key() != ib.key() || *ia != *ib) return false;
    ++ia;
    ++ib;
  }
}

const json* mapping_member(const json& j, std::string_view key) {
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? &*it : nullptr;
}

}  // namespace

bool same_for_rules(const Object& a, const Object& b) {
  const Kind k = a.kind();
  if (k != b.kind()) return false;
  const json& x = a.doc();
  const json& y = b.doc();
  const json* mx = x.is_object() ? mapping_member(x, "metadata") : nullptr;
  const json* my = y.is_object() ? mapping_member(y, "metadata") : nullptr;
  if (is_workload(k) || !mx || !my) {
    // Workloads drop parts of their spec as well; compare what drop_unread keeps, on copies.
    json cx = x, cy = y;
    drop_unread(k, cx);
    drop_unread(k, cy);
    return cx == cy;
  }
  // The same comparison as on drop_unread's copies, for the common case, reading in place: a
  // Gateway UPDATE runs it on every review.
  auto outside_metadata = [](const std::string& key, const json&) {
    return key != "status" && key != "metadata";
  };
  auto kept_metadata = [&](const std::string& key, const json&) {
    return metadata_field_read(k, key);
  };
  auto kept_annotation = [](const std::string& key, const json&) { return annotation_read(key); };
  static const json kNone = json::object();
  const json* ax = mapping_member(*mx, "annotations");
  const json* ay = mapping_member(*my, "annotations");
  return equal_kept(x, y, outside_metadata) && equal_kept(*mx, *my, kept_metadata) &&
         equal_kept(ax ? *ax : kNone, ay ? *ay : kNone, kept_annotation);
}

void Object::pack() {
  // Only where raw() is doc(): a review's pristine copy or a file's source stay as they are.
  if (!doc_ || raw_ != doc_) return;
  auto p = std::make_shared<Packed>();
  p->bytes = json::to_msgpack(*doc_);
  p->bytes.shrink_to_fit();
  packed_ = std::move(p);
  doc_.reset();
  raw_.reset();
}

namespace {

json unpack(const std::vector<std::uint8_t>& bytes) {
  // Our own encoding of a valid document: decoding cannot fail, and must not throw if it did.
  json j = json::from_msgpack(bytes, true, false);
  return j.is_discarded() ? json() : j;
}

// Only the outermost DocPins of a thread keeps documents; inner ones are no-ops.
thread_local DocPins* tl_outermost = nullptr;

}  // namespace

DocPins::DocPins() {
  if (!tl_outermost) tl_outermost = this;
}
DocPins::~DocPins() {
  if (tl_outermost == this) tl_outermost = nullptr;
}

DocPins* DocPins::outermost() { return tl_outermost; }

const json& DocPins::get(const Object& o) {
  auto [it, fresh] = docs_.try_emplace(&o);
  if (fresh) {
    std::shared_ptr<const void> owner = o.packed_;
    it->second = DocCache::find(owner);
    if (!it->second) {
      it->second = std::make_shared<const json>(unpack(o.packed_->bytes));
      DocCache::offer(owner, it->second);
    }
  }
  return *it->second;
}

const json& Object::unpacked() const {
  // The outermost pins live longest: a fact memoized by an inner scope may point into them.
  if (DocPins* pins = DocPins::outermost()) return pins->get(*this);
  std::call_once(packed_->once,
                 [this] { packed_->kept = std::make_unique<const json>(unpack(packed_->bytes)); });
  return *packed_->kept;
}

const json& Object::raw() const {
  if (raw_) return *raw_;
  if (packed_) return unpacked();
  std::call_once(lazy_->once, [this] {
    std::optional<json> original = source_ ? source_->original() : std::nullopt;
    // Without a source (not expected for file objects) the defaulted document is the best left.
    lazy_->value = original ? std::move(*original) : *doc_;
  });
  return lazy_->value;
}

Kind Object::kind() const { return known_ ? *known_ : Kind{group_, kind_}; }

std::string Object::display() const {
  return ns_.empty() ? kind_ + " " + name_ : kind_ + " " + ns_ + "/" + name_;
}

const std::string* Object::label(std::string_view key) const {
  const json* labels = nullptr;
  const json& d = doc();
  auto md = d.find("metadata");
  if (md != d.end()) {
    auto it = md->find("labels");
    if (it != md->end() && it->is_object()) labels = &*it;
  }
  if (!labels) return nullptr;
  auto it = labels->find(key);
  return it != labels->end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
}

const std::string* Object::annotation(std::string_view key) const {
  const json& d = doc();
  auto md = d.find("metadata");
  if (md == d.end() || !md->is_object()) return nullptr;
  auto it = md->find("annotations");
  if (it == md->end() || !it->is_object()) return nullptr;
  auto jt = it->find(key);
  return jt != it->end() && jt->is_string() ? jt->get_ptr<const std::string*>() : nullptr;
}

std::string pointer_escape(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string pointer_join(std::string_view base, std::string_view token) {
  std::string out(base);
  out += '/';
  out += pointer_escape(token);
  return out;
}

std::string pointer_join(std::string_view base, size_t index) {
  std::string out(base);
  out += '/';
  out += std::to_string(index);
  return out;
}

std::vector<std::string> pointer_tokens(std::string_view pointer) {
  std::vector<std::string> out;
  size_t pos = 1;
  while (!pointer.empty() && pos <= pointer.size()) {
    size_t next = pointer.find('/', pos);
    if (next == std::string_view::npos) next = pointer.size();
    std::string tok;
    for (size_t i = pos; i < next; ++i) {
      if (pointer[i] == '~' && i + 1 < next) {
        tok += pointer[i + 1] == '1' ? '/' : '~';
        ++i;
      } else {
        tok += pointer[i];
      }
    }
    out.push_back(std::move(tok));
    pos = next + 1;
  }
  return out;
}

std::string field_path(std::string_view pointer) {
  if (pointer.empty()) return "(object)";
  std::string out;
  for (const std::string& tok : pointer_tokens(pointer)) {
    bool numeric = !tok.empty() && std::all_of(tok.begin(), tok.end(), ::isdigit);
    if (numeric) {
      out += "[" + tok + "]";
    } else if (tok.find_first_of(".[]/") != std::string::npos || tok.empty()) {
      out += "[\"" + tok + "\"]";
    } else {
      if (!out.empty()) out += '.';
      out += tok;
    }
  }
  return out;
}

}  // namespace latticeguard
