#include "cli/heap.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

namespace latticeguard {

void prefer_huge_pages(std::size_t bytes) {
  constexpr std::uintptr_t kHuge = 2u << 20;
  // Keep the grown heap (no trimming back below `bytes`), grow it in one step, then return to the
  // default padding so later growth is ordinary.
  if (mallopt(M_TRIM_THRESHOLD, static_cast<int>(bytes)) == 0) return;
  if (mallopt(M_TOP_PAD, static_cast<int>(bytes)) == 0) return;
  auto* start = static_cast<char*>(sbrk(0));
  std::vector<void*> blocks;
  blocks.reserve(64);
  // Blocks under the mmap threshold come from the heap; allocate until the heap has grown.
  while (sbrk(0) == start && blocks.size() < 64) blocks.push_back(std::malloc(64 << 10));
  for (void* b : blocks) std::free(b);
  mallopt(M_TOP_PAD, 128 << 10);  // glibc's default
  auto* end = static_cast<char*>(sbrk(0));
  auto first = (reinterpret_cast<std::uintptr_t>(start) + kHuge - 1) & ~(kHuge - 1);
  auto last = reinterpret_cast<std::uintptr_t>(end) & ~(kHuge - 1);
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
}

void keep_until_exit(std::shared_ptr<void> p) {
  static auto* held = new std::vector<std::shared_ptr<void>>();
  held->push_back(std::move(p));
}

}  // namespace latticeguard
