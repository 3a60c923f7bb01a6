#include "rules/core/doc_cache.h"

#include <atomic>
#include <list>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace latticeguard {
namespace {

using json = nlohmann::json;

// A block of `n` bytes as glibc's malloc hands it out: an 8-byte header, 16-byte alignment, at
// least 32 bytes.
constexpr std::size_t block(std::size_t n) {
  n = (n + 8 + 15) & ~std::size_t{15};
  return n < 32 ? 32 : n;
}

std::size_t string_heap(const std::string& s) {
  // Short strings live inside the std::string itself.
  return s.capacity() > 15 ? block(s.capacity() + 1) : 0;
}

// One element of a json object: a red-black tree node (colour and three links) holding the
// key/value pair.
constexpr std::size_t kMapNode = block(32 + sizeof(std::pair<const std::string, json>));
// The shared_ptr's control block and the root value, made together by make_shared.
constexpr std::size_t kRoot = block(16 + sizeof(json));

struct Entry {
  const void* key;
  std::weak_ptr<const void> owner;
  std::shared_ptr<const json> doc;
  std::size_t bytes;
};

struct Cache {
  std::mutex mu;
  std::list<Entry> lru;  // most recently used first
  std::unordered_map<const void*, std::list<Entry>::iterator> by_key;
  std::size_t bytes = 0;
  // Written under mu; read without it first, so a cache that is off costs a review no lock and
  // no size walk.
  std::atomic<std::size_t> budget{0};
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;

  // Evicts from the least recently used end until the total fits `limit`; the evicted trees are
  // handed to `out`, to be freed after the lock is released. Requires mu.
  void shrink_to(std::size_t limit, std::vector<std::shared_ptr<const json>>& out) {
    while (bytes > limit && !lru.empty()) {
      drop(std::prev(lru.end()), out);
    }
  }
  void drop(std::list<Entry>::iterator it, std::vector<std::shared_ptr<const json>>& out) {
    bytes -= it->bytes;
    out.push_back(std::move(it->doc));
    by_key.erase(it->key);
    lru.erase(it);
  }
};

// Whether this thread is inside a DocCache::Filling scope (an admission).
thread_local bool tl_filling = false;

Cache& cache() {
  static auto* c = new Cache();  // never destroyed: other statics' destructors may still read
  return *c;
}

bool same_owner(const std::weak_ptr<const void>& a, const std::shared_ptr<const void>& b) {
  return !a.owner_before(b) && !b.owner_before(a);
}

}  // namespace

void DocCache::set_budget(std::size_t bytes) {
  std::vector<std::shared_ptr<const json>> evicted;
  Cache& c = cache();
  std::lock_guard lock(c.mu);
  c.budget.store(bytes, std::memory_order_relaxed);
  c.shrink_to(bytes, evicted);
}

DocCache::Stats DocCache::stats() {
  Cache& c = cache();
  std::lock_guard lock(c.mu);
  return Stats{c.hits, c.misses, c.lru.size(), c.bytes, c.budget.load(std::memory_order_relaxed)};
}

void DocCache::clear() {
  std::vector<std::shared_ptr<const json>> evicted;
  Cache& c = cache();
  std::lock_guard lock(c.mu);
  c.shrink_to(0, evicted);
  c.hits = c.misses = 0;
}

std::shared_ptr<const json> DocCache::find(const std::shared_ptr<const void>& owner) {
  Cache& c = cache();
  if (c.budget.load(std::memory_order_relaxed) == 0) return nullptr;
  std::vector<std::shared_ptr<const json>> evicted;
  std::lock_guard lock(c.mu);
  auto it = c.by_key.find(owner.get());
  if (it == c.by_key.end()) {
    c.misses += tl_filling;
    return nullptr;
  }
  if (!same_owner(it->second->owner, owner)) {
    // Not the owner cached under this address (see the header): that one is gone.
    c.drop(it->second, evicted);
    c.misses += tl_filling;
    return nullptr;
  }
  c.lru.splice(c.lru.begin(), c.lru, it->second);
  c.hits += tl_filling;
  return it->second->doc;
}

void DocCache::offer(const std::shared_ptr<const void>& owner, std::shared_ptr<const json> doc) {
  Cache& c = cache();
  if (!tl_filling || !doc || c.budget.load(std::memory_order_relaxed) == 0) return;
  std::size_t bytes = kRoot + tree_bytes(*doc);
  std::vector<std::shared_ptr<const json>> evicted;
  std::lock_guard lock(c.mu);
  const std::size_t budget = c.budget.load(std::memory_order_relaxed);
  if (bytes > budget / 4) return;
  if (auto it = c.by_key.find(owner.get()); it != c.by_key.end()) {
    if (same_owner(it->second->owner, owner)) return;  // another thread cached it first
    c.drop(it->second, evicted);
  }
  c.shrink_to(budget - bytes, evicted);
  c.lru.push_front(Entry{owner.get(), owner, std::move(doc), bytes});
  c.by_key.emplace(owner.get(), c.lru.begin());
  c.bytes += bytes;
}

DocCache::Filling::Filling() : was_(tl_filling) { tl_filling = true; }
DocCache::Filling::~Filling() { tl_filling = was_; }

std::size_t DocCache::tree_bytes(const json& doc) {
  // Iterative: the depth of a document costs heap here, not stack.
  std::size_t total = 0;
  std::vector<const json*> todo{&doc};
  while (!todo.empty()) {
    const json* j = todo.back();
    todo.pop_back();
    switch (j->type()) {
      case json::value_t::object:
        total += block(sizeof(json::object_t));
        for (const auto& [key, value] : j->get_ref<const json::object_t&>()) {
          total += kMapNode + string_heap(key);
          todo.push_back(&value);
        }
        break;
      case json::value_t::array: {
        const auto& a = j->get_ref<const json::array_t&>();
        total += block(sizeof(json::array_t));
        if (a.capacity() > 0) total += block(a.capacity() * sizeof(json));
        for (const json& e : a) todo.push_back(&e);
        break;
      }
      case json::value_t::string:
        total += block(sizeof(json::string_t)) + string_heap(j->get_ref<const std::string&>());
        break;
      case json::value_t::binary:
        total += block(sizeof(json::binary_t)) + block(j->get_binary().size());
        break;
      default:
        break;  // numbers, booleans and null live inside the json value
    }
  }
  return total;
}

}  // namespace latticeguard
