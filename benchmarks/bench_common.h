// Shared bits of the benchmark programs: thread count and deterministic random data.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "core/cpu_features.h"

namespace xy::bench {

// XY_BENCH_THREADS, else every CPU this process may use.
inline int bench_threads() {
  if (const char* env = std::getenv("XY_BENCH_THREADS")) {
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  return cpu_features().logical_cpus;
}

inline void fill_random(float* v, size_t n, uint64_t seed) {
  uint64_t s = seed;
  for (size_t i = 0; i < n; ++i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    v[i] = static_cast<float>(static_cast<int>(s >> 41) - (1 << 22)) * (1.0f / (1 << 23));
  }
}

}  // namespace xy::bench
