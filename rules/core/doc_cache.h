// DocCache: decoded documents of packed objects (Object::pack), shared between evaluations.
//
//   DocCache::set_budget(2 << 20);   // serve with a live cluster: keep ~2 MiB of decoded trees
//   { DocCache::Filling fill; ... }  // an admission: the documents it decodes stay for the next
//   DocCache::Stats s = DocCache::stats();
//
// The live cache keeps every object packed so 50,000 of them fit in 100 MB, and an admission
// reads a dozen of them (its Gateway and GatewayClass, Namespaces, the Service, its workloads,
// the policies on them). Decoding those afresh for every review was two fifths of the webhook's
// own time. Reviews keep reading the same shared objects, so a small least-recently-used cache
// of their decoded trees takes most of that back for little memory.
//
// DocPins (object.h) reads through it: a hit pins the cached tree for the pass; a miss decodes,
// and the tree is added only while a Filling scope is open on the thread. Bulk passes (index
// updates during a sync, the periodic audit over every object) therefore use what is cached
// without pushing out what admissions reuse. Sizes are estimates of a tree's heap use (nodes,
// strings and the allocator's per-block overhead); a tree over a quarter of the budget is never
// kept, and the total never exceeds the budget. A budget of 0, the default, turns the cache off:
// lint, audit and tests decode per pass unless they ask for it.
//
// Entries are keyed by the address of the packed bytes' owner and hold it weakly. Object::pack
// makes the owner with make_shared, so a weak reference keeps its storage, and no other object
// can take its address while the entry lives; the owner is compared as well, so that stays true
// however an owner is allocated. An object replaced by a watch event is therefore never answered
// with its predecessor's document; the dead entry waits for eviction.
//
// Thread safety: every function may be called from any thread; one mutex guards the cache, and a
// Filling scope belongs to the thread that opened it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>

namespace latticeguard {

class DocCache {
 public:
  struct Stats {
    std::uint64_t hits = 0;  // lookups inside Filling scopes
    std::uint64_t misses = 0;
    std::size_t entries = 0;
    std::size_t bytes = 0;  // estimated heap use of the cached trees
    std::size_t budget = 0;
  };

  // Sets the most the cached trees may hold (estimated bytes), evicting down to it at once.
  static void set_budget(std::size_t bytes);
  static Stats stats();
  // Drops every entry and zeroes the counters (tests).
  static void clear();

  // The cached document of the packed bytes owned by `owner`, or nullptr (a miss). Inside a
  // Filling scope, and while the budget is not 0, counts a hit or a miss: the counters say how
  // well the cache serves admissions, not how many objects a sync or an audit read once.
  static std::shared_ptr<const nlohmann::json> find(const std::shared_ptr<const void>& owner);
  // Adds the decoded document of `owner`'s bytes, when a Filling scope is open on this thread
  // and the tree fits.
  static void offer(const std::shared_ptr<const void>& owner,
                    std::shared_ptr<const nlohmann::json> doc);

  // While one is open on a thread, documents that thread decodes are offered to the cache.
  // Nested scopes are allowed.
  class Filling {
   public:
    Filling();
    ~Filling();
    Filling(const Filling&) = delete;
    Filling& operator=(const Filling&) = delete;

   private:
    bool was_;
  };

  // Estimated heap bytes of the tree under `doc` (not counting `doc` itself).
  static std::size_t tree_bytes(const nlohmann::json& doc);
};

}  // namespace latticeguard
