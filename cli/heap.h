// Heap set-up for one-shot commands (lint, audit) that build a large in-memory model and exit.
//
//   prefer_huge_pages(512 << 20);   // first thing in main, before the model is built
//
// Decoding 18,000 objects allocates ~140 MB in ~2 million small blocks; with 4 KB pages most of
// the run is page faults and TLB misses. This grows the main heap once to `bytes` of address
// space (untouched, so it costs no memory) and asks for transparent huge pages on it, which is
// what glibc's `glibc.malloc.hugetlb=1` tunable does but cannot be set from inside a process.
// Not for `serve`: a long-running server keeps its RSS small instead. Call it once, from main,
// before other threads exist. No-op where the kernel or allocator does not cooperate.
#pragma once

#include <cstddef>

namespace latticeguard {

void prefer_huge_pages(std::size_t bytes);

}  // namespace latticeguard
