// Object: one Kubernetes object as the rules see it, plus where it came from.
//
//   Result<Object> o = Object::from_json(std::move(doc));      // admission, list/watch
//   o->kind() == kHTTPRoute; o->ns(); o->name(); o->doc()["spec"]
//
// `doc()` has the Gateway API schema defaults applied (defaults.h), so rules see one shape whether
// the object came from a file or from the API server; `raw()` is the object as received and is
// what fixes patch. Objects are immutable once built and shared as shared_ptr<const Object>, so
// any number of threads may read them.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rules/core/result.h"

namespace latticeguard {

using json = nlohmann::json;

// Group + kind, without version: matchPolicy Equivalent treats versions alike.
struct Kind {
  std::string_view group;
  std::string_view kind;
  friend constexpr bool operator==(const Kind&, const Kind&) = default;
};

inline constexpr std::string_view kGatewayGroup = "gateway.networking.k8s.io";
inline constexpr std::string_view kLatticeGroup = "application-networking.k8s.aws";

inline constexpr Kind kGatewayClass{kGatewayGroup, "GatewayClass"};
inline constexpr Kind kGateway{kGatewayGroup, "Gateway"};
inline constexpr Kind kHTTPRoute{kGatewayGroup, "HTTPRoute"};
inline constexpr Kind kGRPCRoute{kGatewayGroup, "GRPCRoute"};
inline constexpr Kind kTLSRoute{kGatewayGroup, "TLSRoute"};
inline constexpr Kind kReferenceGrant{kGatewayGroup, "ReferenceGrant"};
inline constexpr Kind kTargetGroupPolicy{kLatticeGroup, "TargetGroupPolicy"};
inline constexpr Kind kIAMAuthPolicy{kLatticeGroup, "IAMAuthPolicy"};
inline constexpr Kind kVpcAssociationPolicy{kLatticeGroup, "VpcAssociationPolicy"};
inline constexpr Kind kAccessLogPolicy{kLatticeGroup, "AccessLogPolicy"};
inline constexpr Kind kServiceExport{kLatticeGroup, "ServiceExport"};
inline constexpr Kind kServiceImport{kLatticeGroup, "ServiceImport"};
inline constexpr Kind kServiceNetwork{kLatticeGroup, "ServiceNetwork"};
inline constexpr Kind kNamespace{"", "Namespace"};
inline constexpr Kind kService{"", "Service"};
inline constexpr Kind kPod{"", "Pod"};
inline constexpr Kind kDeployment{"apps", "Deployment"};
inline constexpr Kind kStatefulSet{"apps", "StatefulSet"};
inline constexpr Kind kDaemonSet{"apps", "DaemonSet"};
inline constexpr Kind kReplicaSet{"apps", "ReplicaSet"};

// Every kind the engine understands, sorted by (group, kind). Anything else is ignored.
std::span<const Kind> known_kinds();
bool is_route(Kind k);           // HTTPRoute, GRPCRoute, TLSRoute
bool is_policy(Kind k);          // the four application-networking.k8s.aws policies
bool is_workload(Kind k);        // Deployment, StatefulSet, DaemonSet, ReplicaSet, Pod
bool is_cluster_scoped(Kind k);  // Namespace, GatewayClass
// "HTTPRoute" -> kHTTPRoute when the group matches a known kind; nullopt otherwise.
std::optional<Kind> find_kind(std::string_view group, std::string_view kind);
// Position of `k` in known_kinds(), or nullopt: for tables kept per known kind.
std::optional<size_t> known_kind_index(Kind k);
// The group of an apiVersion: "apps/v1" -> "apps", "v1" -> "".
std::string_view api_group(std::string_view api_version);

// Where an object came from, for `file:line:col` output. Implemented by the manifest decoder;
// the engine only asks it for positions.
class SourceMap {
 public:
  virtual ~SourceMap() = default;
  // Position (1-based) of the node at `pointer` (RFC 6901) in this document, or of its nearest
  // existing ancestor when the pointer names a field the file leaves out.
  virtual std::pair<int, int> position(std::string_view pointer) const = 0;
  virtual const std::string& file() const = 0;
  // The object as written (before schema defaults), read again from the source; nullopt when
  // the source cannot provide it. Lets file objects skip keeping a second copy for raw().
  virtual std::optional<json> original() const { return std::nullopt; }
};

// Where an object comes from decides what Object keeps of it (see from_json).
enum class Origin {
  kReview,     // an AdmissionReview: raw() is a copy when defaults changed the document
  kFile,       // a manifest: raw() is read again from the source when first asked for, and
               // doc() drops what no rule reads (drop_unread)
  kApiServer,  // list/watch: already defaulted, never patched: raw() is doc(), trimmed the same
};

class Object {
 public:
  // Requires apiVersion, kind and metadata.name to be strings; applies schema defaults.
  // `default_namespace` is given to namespaced objects without metadata.namespace. Most
  // documents need no defaults, and then doc() and raw() are one document whatever the origin.
  static Result<Object> from_json(json doc, std::string_view default_namespace = "",
                                  Origin origin = Origin::kReview);

  const json& doc() const { return doc_ ? *doc_ : unpacked(); }
  // The object as received, which fixes patch. For a file object, read again from the source
  // on first use (source() must be set by then).
  const json& raw() const;
  // Keeps the document packed (MessagePack, a tenth of the tree's memory) and decodes it when
  // read: for objects held long and read rarely, the live cache's. doc() then returns a copy
  // pinned by the outermost DocPins open on the thread (valid until that closes), or, with
  // none open, one decoded on first use and kept. Only for API server objects (raw() is doc());
  // others stay as they are.
  void pack();
  bool packed() const { return packed_ != nullptr; }
  Kind kind() const;  // known kinds map to the constants above; others keep their strings
  const std::string& group() const { return group_; }
  const std::string& kind_name() const { return kind_; }
  const std::string& api_version() const { return api_version_; }
  const std::string& ns() const { return ns_; }  // empty when cluster-scoped
  const std::string& name() const { return name_; }
  // "HTTPRoute shop/checkout" (or "Namespace shop" for cluster-scoped kinds).
  std::string display() const;
  // metadata.labels / annotations lookups in doc() (only those rules read: drop_unread);
  // nullptr when absent or not a string.
  const std::string* label(std::string_view key) const;
  const std::string* annotation(std::string_view key) const;

  const SourceMap* source() const { return source_.get(); }
  void set_source(std::shared_ptr<const SourceMap> s) { source_ = std::move(s); }
  // Index of the document in its file (0-based), for --fix rewriting.
  int document_index = 0;

 private:
  struct LazyRaw {
    std::once_flag once;
    json value;
  };
  struct Packed {
    std::vector<std::uint8_t> bytes;
    std::once_flag once;
    std::unique_ptr<const json> kept;  // decoded outside any DocPins
  };
  friend class DocPins;
  const json& unpacked() const;
  std::shared_ptr<const json> doc_;  // null when packed
  std::shared_ptr<Packed> packed_;
  std::shared_ptr<const json> raw_;  // null: lazy_ (file objects), filled from source_
  std::shared_ptr<LazyRaw> lazy_;
  std::string group_, kind_, api_version_, ns_, name_;
  std::optional<Kind> known_;  // views of the constants above, so copies stay valid
  std::shared_ptr<const SourceMap> source_;
};

using ObjectPtr = std::shared_ptr<const Object>;

// Pins the documents of packed objects decoded on this thread while it is open (see
// Object::pack): every doc() of one object returns the same copy, and references stay valid
// until the outermost DocPins of the thread closes, so one evaluation can hold pointers into
// the documents it read. Open one around any pass that reads cached objects (the Engine's
// FactMemo holds one; so do index updates). Documents come from the shared DocCache
// (doc_cache.h) when it holds them, and are offered to it when decoded. Belongs to the thread
// that opened it.
class DocPins {
 public:
  DocPins();
  ~DocPins();
  DocPins(const DocPins&) = delete;
  DocPins& operator=(const DocPins&) = delete;

 private:
  friend class Object;
  static DocPins* outermost();
  const json& get(const Object& o);
  std::unordered_map<const Object*, std::shared_ptr<const json>> docs_;
};

// What the rules read of an object, so the rest can be dropped (API server and file objects) and
// two versions compared by what matters to rules. Labels are read only on Namespaces
// (productionNamespaces, allowedRoutes selectors) and Pods (Service selectors; workloads' pod
// labels sit in spec.template); annotations only under application-networking.k8s.aws/ and
// latticeguard.io/. metadata keeps name, namespace, uid (PolicyReport references) and
// creationTimestamp (policy-conflict ordering); status is never read. Of workloads, rules read
// only the selector, the pod labels and the containers' names, ports and probes.
void drop_unread(Kind k, json& doc);
// Whether two versions of one object look the same to every rule (an UPDATE that only touched
// a label, an unrelated annotation or bookkeeping fields cannot change any finding).
bool same_for_rules(const Object& a, const Object& b);

// Identity of an object in an index: group/kind/namespace/name.
struct ObjectKey {
  std::string group, kind, ns, name;
  friend bool operator==(const ObjectKey&, const ObjectKey&) = default;
  friend auto operator<=>(const ObjectKey&, const ObjectKey&) = default;
  static ObjectKey of(const Object& o) { return {o.group(), o.kind_name(), o.ns(), o.name()}; }
  static ObjectKey of(Kind k, std::string_view ns, std::string_view name) {
    return {std::string(k.group), std::string(k.kind), std::string(ns), std::string(name)};
  }
};

// JSON pointer helpers. Pointers are RFC 6901 strings ("/spec/rules/0/backendRefs/1").
std::string pointer_escape(std::string_view token);  // "~" -> "~0", "/" -> "~1"
std::string pointer_join(std::string_view base, std::string_view token);
std::string pointer_join(std::string_view base, size_t index);
// "/spec/a~1b/0" -> {"spec", "a/b", "0"}; "" -> {}.
std::vector<std::string> pointer_tokens(std::string_view pointer);
// "/spec/rules/1/backendRefs/0" -> "spec.rules[1].backendRefs[0]"; "" -> "(object)".
std::string field_path(std::string_view pointer);

}  // namespace latticeguard
