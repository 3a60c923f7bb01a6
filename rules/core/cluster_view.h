// ObjectIndex and ClusterView: the world the rules see.
//
//   ObjectIndex index;                       // lint: every file; serve: the watch cache
//   index.put(std::make_shared<const Object>(obj));
//   ClusterView view(index);                 // read-only
//   ClusterView after = view.with(reviewed);  // the cluster as it would be if admitted
//   const Object* svc = after.find(kService, "shop", "parking");
//   for (const Object* r : after.referrers(edge::backend(kService, "shop", "parking"))) ...
//
// Every lookup is indexed: by identity, by kind (sorted by namespace/name), and by "edges" that
// objects declare about themselves (a route's backends and parents, a policy's target, a
// workload's pod labels, ...; edges.cpp). So a rule's cost does not grow with the number of
// unrelated objects; a rule that scans is a bug.
//
// Threading: ObjectIndex is a value with copy-on-write shards (one per kind). Copying it is cheap
// (a few dozen shared_ptrs) and the copy is immutable from the reader's side, which is how the
// live cache publishes snapshots that admission threads read without ever waiting for the watch
// threads. A ClusterView is a light handle over one index plus an optional overlay; it is
// const-safe for concurrent readers but does not own the index.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rules/core/object.h"

namespace latticeguard {

// Edge keys, built only by these functions so producers (edges.cpp) and queries agree.
namespace edge {
std::string backend(Kind k, std::string_view ns, std::string_view name);  // route -> backend
std::string parent(std::string_view gw_ns, std::string_view gw_name);     // route -> Gateway
std::string target(Kind policy, Kind target, std::string_view ns, std::string_view name);
std::string pod_label(std::string_view ns, std::string_view key, std::string_view value);
std::string gateway_class(std::string_view class_name);     // Gateway -> class
std::string cross_ns_backend(std::string_view backend_ns);  // route with a backend in backend_ns
std::string export_of(std::string_view ns, std::string_view service);  // ServiceExport -> Service
// ReferenceGrant in grant_ns with a `from` entry {from_group, from_kind, from_ns}.
std::string grant_from(std::string_view grant_ns, std::string_view from_group,
                       std::string_view from_kind, std::string_view from_ns);
// Free-form attributes computed per object (e.g. the Lattice service name, custom domain).
std::string attr(std::string_view name, std::string_view value);
// Values for the "custom-domain" (routes) and "svc-selector" (Services) attributes.
std::string custom_domain_key(std::string_view gateway_name, std::string_view host);
std::string service_selector_key(std::string_view ns, std::string_view key, std::string_view value);
}  // namespace edge

class ObjectIndex {
 public:
  ObjectIndex() = default;
  // Adds or replaces the object with the same group/kind/namespace/name.
  // Adds or replaces; returns the object replaced (null when the key was new).
  ObjectPtr put(ObjectPtr obj);
  bool erase(const ObjectKey& key);
  ObjectPtr get(const ObjectKey& key) const;
  const Object* find(Kind k, std::string_view ns, std::string_view name) const;
  // Objects of a kind ordered by (namespace, name).
  std::vector<const Object*> list(Kind k) const;
  std::vector<ObjectPtr> all() const;  // every object, ordered by kind then namespace/name
  std::vector<const Object*> referrers(const std::string& edge_key) const;
  size_t size() const;
  size_t count(Kind k) const;
  // Removes every object of the kind (a relist replaces a kind wholesale).
  void clear_kind(Kind k);

  // Whether absence of an object of this kind means it really does not exist (closed world).
  // Lint: true unless --open-world; live cache: true once the kind is synced.
  void set_complete(Kind k, bool complete);
  void set_all_complete(bool complete);
  bool complete(Kind k) const;

 private:
  struct Shard;
  using ShardKey = std::pair<std::string, std::string>;  // group, kind
  // Orders pairs of strings and finds them by pairs of string_views, so a lookup by (group,
  // kind) or (namespace, name) builds no strings.
  struct PairLess {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      std::string_view a1 = a.first, b1 = b.first;
      if (a1 != b1) return a1 < b1;
      return std::string_view(a.second) < std::string_view(b.second);
    }
  };
  Shard& mutable_shard(const std::string& group, const std::string& kind);
  const Shard* shard(std::string_view group, std::string_view kind) const;

  std::map<ShardKey, std::shared_ptr<Shard>, PairLess> shards_;
  bool default_complete_ = true;
  std::map<ShardKey, bool, PairLess> complete_;
};

// Edges an object declares; one function so the index and overlays agree.
std::vector<std::string> edges_of(const Object& o);

class ClusterView {
 public:
  explicit ClusterView(const ObjectIndex& index) : index_(&index) {}
  // The view with `obj` added (or replacing its namesake).
  ClusterView with(ObjectPtr obj) const;
  // The view without the object of this identity.
  ClusterView without(const ObjectKey& key) const;

  const Object* find(Kind k, std::string_view ns, std::string_view name) const;
  std::vector<const Object*> list(Kind k) const;
  std::vector<const Object*> referrers(const std::string& edge_key) const;
  bool complete(Kind k) const { return index_->complete(k); }
  const ObjectIndex& index() const { return *index_; }

 private:
  bool hidden(const Object& o) const;
  const ObjectIndex* index_;
  ObjectPtr added_;
  std::vector<std::string> added_edges_;
  std::optional<ObjectKey> removed_;
};

}  // namespace latticeguard
