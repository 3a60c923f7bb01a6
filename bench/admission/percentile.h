// Latency percentiles for the benchmark clients (lg_paced and lg_cluster_bench), so both rank
// samples the same way.
//
//   std::sort(ns.begin(), ns.end());
//   double p99 = latticeguard::bench::percentile_ms(ns, 0.99);
//
// Pure functions; thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace latticeguard::bench {

// Percentile `p` (0..1) of latencies in nanoseconds, sorted ascending, in milliseconds: the
// sample of rank round(p * n), at least the first; 0 when there are none.
inline double percentile_ms(const std::vector<int64_t>& sorted_ns, double p) {
  if (sorted_ns.empty()) return 0;
  auto rank = static_cast<size_t>(p * static_cast<double>(sorted_ns.size()) + 0.5);
  rank = std::clamp<size_t>(rank, 1, sorted_ns.size());
  return static_cast<double>(sorted_ns[rank - 1]) / 1e6;
}

}  // namespace latticeguard::bench
