// rules/core/doc_cache.h: decoded documents of packed objects shared between passes. Its own
// binary, so scripts/tsan can run the concurrent test under ThreadSanitizer without building
// the whole rules suite there.
#include "rules/core/doc_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "rules/core/object.h"

namespace latticeguard::testing {
namespace {

// A packed Service as the live cache holds it; `pad` makes its document larger.
std::shared_ptr<Object> packed_service(const std::string& name, size_t pad = 0) {
  json doc = {
      {"apiVersion", "v1"},
      {"kind", "Service"},
      {"metadata",
       {{"name", name},
        {"namespace", "shop"},
        {"annotations", {{"application-networking.k8s.aws/federation", std::string(pad, 'x')}}}}},
      {"spec", {{"selector", {{"app", name}}}, {"ports", {{{"port", 80}}}}}}};
  Result<Object> o = Object::from_json(std::move(doc), "", Origin::kApiServer);
  EXPECT_TRUE(o) << o.error().message;
  auto p = std::make_shared<Object>(std::move(*o));
  p->pack();
  EXPECT_TRUE(p->packed());
  return p;
}

const json* read_address(const Object& o) {
  DocPins pins;
  return &o.doc();
}

class DocCacheTest : public ::testing::Test {
 protected:
  void SetUp() override { DocCache::clear(); }
  void TearDown() override {
    DocCache::set_budget(0);
    DocCache::clear();
  }
};

TEST_F(DocCacheTest, OffByDefaultEveryPassDecodesItsOwnCopy) {
  auto svc = packed_service("parking");
  DocCache::Filling fill;
  {
    DocPins pins;
    EXPECT_EQ(svc->doc()["metadata"]["name"], "parking");
  }
  DocCache::Stats s = DocCache::stats();
  EXPECT_EQ(s.entries, 0u);
  EXPECT_EQ(s.hits + s.misses, 0u);  // nothing is counted while the cache is off
}

TEST_F(DocCacheTest, AdmissionsReuseTheDecodedTreeOtherPassesOnlyRead) {
  DocCache::set_budget(1 << 20);
  auto svc = packed_service("parking");
  auto other = packed_service("lot");

  // Outside a Filling scope (an index update, an audit) a decoded document is not kept.
  {
    DocPins pins;
    (void)other->doc();
  }
  EXPECT_EQ(DocCache::stats().entries, 0u);

  const json* first = nullptr;
  {
    DocCache::Filling fill;
    first = read_address(*svc);            // decoded, then kept
    EXPECT_EQ(read_address(*svc), first);  // the next admission reads the same tree
  }
  // Any pass reads what admissions left, without a Filling scope.
  EXPECT_EQ(read_address(*svc), first);
  DocCache::Stats s = DocCache::stats();
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.hits, 1u);    // only admissions' reads are counted
  EXPECT_EQ(s.misses, 1u);  // the first read of `svc`
  DocPins pins;
  EXPECT_GT(s.bytes, DocCache::tree_bytes(svc->doc()));  // the tree and its root block
  // The shared tree is the document as it was packed.
  EXPECT_EQ(svc->doc()["spec"]["selector"]["app"], "parking");
}

TEST_F(DocCacheTest, LeastRecentlyUsedGoesFirstAndTheBudgetHolds) {
  // Five objects whose documents are the same size.
  std::vector<std::shared_ptr<Object>> o;
  for (const char* n : {"a", "b", "c", "d", "e"}) o.push_back(packed_service(n));
  DocCache::set_budget(1 << 20);
  DocCache::Filling fill;
  const json* a = read_address(*o[0]);
  const size_t entry = DocCache::stats().bytes;
  DocCache::set_budget(4 * entry);  // room for four
  for (int i = 1; i < 4; ++i) read_address(*o[i]);
  EXPECT_EQ(DocCache::stats().entries, 4u);
  EXPECT_EQ(read_address(*o[0]), a);  // a is now the most recently used, b the least
  read_address(*o[4]);                // pushes out b
  DocCache::Stats s = DocCache::stats();
  EXPECT_EQ(s.entries, 4u);
  EXPECT_EQ(s.bytes, 4 * entry);
  EXPECT_EQ(read_address(*o[0]), a);  // still cached
  const uint64_t misses = DocCache::stats().misses;
  read_address(*o[1]);
  EXPECT_EQ(DocCache::stats().misses, misses + 1);  // b was evicted

  // Lowering the budget evicts at once.
  DocCache::set_budget(entry);
  EXPECT_LE(DocCache::stats().bytes, entry);
  DocCache::set_budget(0);
  EXPECT_EQ(DocCache::stats().entries, 0u);
  EXPECT_EQ(DocCache::stats().bytes, 0u);
}

TEST_F(DocCacheTest, ATreeOverAQuarterOfTheBudgetIsNotKept) {
  DocCache::set_budget(64 << 10);
  auto big = packed_service("big", 20 << 10);  // a 20 KB annotation
  DocCache::Filling fill;
  read_address(*big);
  EXPECT_EQ(DocCache::stats().entries, 0u);
}

TEST_F(DocCacheTest, APinnedDocumentOutlivesItsEviction) {
  DocCache::set_budget(1 << 20);
  auto a = packed_service("a");
  DocCache::Filling fill;
  DocPins pins;
  const json& doc_a = a->doc();
  ASSERT_EQ(DocCache::stats().entries, 1u);
  DocCache::set_budget(0);  // evicts a while this pass still holds it
  EXPECT_EQ(DocCache::stats().entries, 0u);
  EXPECT_EQ(doc_a["metadata"]["name"], "a");  // still valid until the pins close
  EXPECT_EQ(&a->doc(), &doc_a);
}

TEST_F(DocCacheTest, AReplacedObjectIsNeverAnsweredWithItsPredecessor) {
  DocCache::set_budget(1 << 20);
  DocCache::Filling fill;
  for (int i = 0; i < 50; ++i) {
    // Each version is dropped before the next is made, as a watch event replaces an object; every
    // read must see its own version, never a cached predecessor's.
    auto svc = packed_service("v" + std::to_string(i));
    DocPins pins;
    ASSERT_EQ(svc->doc()["metadata"]["name"], "v" + std::to_string(i));
  }
  EXPECT_EQ(DocCache::stats().hits, 0u);
}

// Admissions on several event loops read and fill the cache at once while the budget changes;
// run under ThreadSanitizer by scripts/tsan.
TEST_F(DocCacheTest, ConcurrentPassesShareOneCache) {
  std::vector<std::shared_ptr<Object>> objects;
  for (int i = 0; i < 16; ++i) objects.push_back(packed_service("s" + std::to_string(i)));
  size_t one;
  {
    DocPins pins;
    one = DocCache::tree_bytes(objects[0]->doc());
  }
  DocCache::set_budget(8 * one);  // half of them fit: hits, misses and evictions all happen
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      DocCache::Filling fill;
      for (int round = 0; round < 300; ++round) {
        DocPins pins;
        for (size_t i = 0; i < objects.size(); i += 1 + t % 2) {
          const json& d = objects[(i + round) % objects.size()]->doc();
          if (d["metadata"]["name"] != "s" + std::to_string((i + round) % objects.size())) {
            ++wrong;
          }
        }
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 100; ++i) DocCache::set_budget(i % 2 ? 8 * one : 3 * one);
  });
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  DocCache::Stats s = DocCache::stats();
  EXPECT_LE(s.bytes, s.budget);
  EXPECT_GT(s.hits, 0u);
  EXPECT_GT(s.misses, 0u);
}

TEST(DocCacheTreeBytes, CountsNodesStringsAndArrays) {
  EXPECT_EQ(DocCache::tree_bytes(json(5)), 0u);  // scalars live inside the value
  size_t short_string = DocCache::tree_bytes(json("short"));
  size_t long_string = DocCache::tree_bytes(json(std::string(100, 'x')));
  EXPECT_GT(short_string, 0u);
  EXPECT_GE(long_string, short_string + 100);
  json obj = {{"a", 1}, {"b", 2}};
  json obj3 = {{"a", 1}, {"b", 2}, {"c", 3}};
  EXPECT_GT(DocCache::tree_bytes(obj3), DocCache::tree_bytes(obj));
  json arr = json::array({1, 2, 3});
  EXPECT_GE(DocCache::tree_bytes(arr), 3 * sizeof(json));
  // Deep nesting costs no stack.
  json deep = json::array();
  json* cur = &deep;
  for (int i = 0; i < 100000; ++i) cur = &(*cur)[0];
  EXPECT_GT(DocCache::tree_bytes(deep), 100000u * sizeof(json));
}

}  // namespace
}  // namespace latticeguard::testing
