// Shared bits of the benchmark programs: thread count and deterministic random data.
#pragma once

#include <benchmark/benchmark.h>

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

// The end of a benchmark program's main(), once it has registered its benchmarks: records the
// CPU's features in the report's context, parses the flags (an unknown one is an error) and runs.
// Returns main's exit code.
inline int run_benchmarks(int argc, char** argv) {
  benchmark::AddCustomContext("xy_cpu_features", cpu_features().to_string());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace xy::bench
