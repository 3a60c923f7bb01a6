// Heap set-up for one-shot commands (lint, audit) that build a large in-memory model and exit.
//
//   prefer_huge_pages(512 << 20);   // first thing in main, before the model is built
//   keep_until_exit(std::move(model));  // when done with it: the process frees it by exiting
//
// Decoding 18,000 objects allocates ~140 MB in ~2 million small blocks; with 4 KB pages most of
// the run is page faults and TLB misses. This grows the main heap once to `bytes` of address
// space (untouched, so it costs no memory) and asks for transparent huge pages on it, which is
// what glibc's `glibc.malloc.hugetlb=1` tunable does but cannot be set from inside a process.
// Not for `serve`: a long-running server keeps its RSS small instead. Call it once, from main,
// before other threads exist. No-op where the kernel or allocator does not cooperate.
#pragma once

#include <cstddef>
#include <memory>

namespace latticeguard {

void prefer_huge_pages(std::size_t bytes);

// Takes `p` out of the way without destroying it: freeing millions of small nodes costs a
// tenth of a large run, and the process is about to give the memory back anyway. Held from a
// static, so leak checkers see it as reachable. Single-threaded callers only (the CLI).
void keep_until_exit(std::shared_ptr<void> p);

// A T built in place and handed to keep_until_exit() when the scope ends (on every return
// path), or destroyed normally when `one_shot` is false (a caller that goes on running).
template <class T>
class KeptUntilExit {
 public:
  explicit KeptUntilExit(bool one_shot) : value_(std::make_shared<T>()), one_shot_(one_shot) {}
  ~KeptUntilExit() {
    if (one_shot_) keep_until_exit(std::move(value_));
  }
  KeptUntilExit(const KeptUntilExit&) = delete;
  KeptUntilExit& operator=(const KeptUntilExit&) = delete;
  T* operator->() const { return value_.get(); }
  T& operator*() const { return *value_; }

 private:
  std::shared_ptr<T> value_;
  bool one_shot_;
};

}  // namespace latticeguard
