// Machine ceilings, measured by the repo itself with the worker pool the kernels use:
//   machine/read_bw/pages:4k|huge   read bandwidth over a 512 MiB buffer (Bytes rate); the VM's
//                                   nested paging makes the page size matter (ARCHITECTURE.md)
//   machine/f32_fma_peak            12 independent 8-wide FMA chains per thread (FLOPs rate)
//   machine/bf16_widen_fma_peak     SmoothGEMM's AVX2 bf16 inner loop (bf16 -> f32 widening by
//                                   shift/and + FMA, 6x16 tile) on L1-resident data: the bf16
//                                   ceiling of a CPU without AVX512_BF16
//   machine/f32_fma512_peak         12 independent 16-wide FMA chains per thread (zmm): the
//                                   ceiling of SmoothGEMM's exact AVX-512 mode
//   machine/bf16_dot_peak           12 independent vdpbf16ps chains per thread (zmm, 64 FLOPs
//                                   each): the ceiling of the bf16 compute mode and of oneDNN's
//                                   bf16 matmul.
//   machine/int8_dot_peak           12 independent vpdpbusd chains per thread (zmm, 128 int8
//                                   ops each): the ceiling of QuantGEMM and of oneDNN's u8s8s32
//                                   matmul. The AVX-512 rows are skipped without their ISA.
// Threads: XY_BENCH_THREADS or all CPUs. AVX2 loops are compiled with target attributes and
// run only when cpu_features() reports AVX2+FMA (else the benchmark is skipped).
#include <benchmark/benchmark.h>
#include <immintrin.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "bench_common.h"
#include "core/cpu_features.h"
#include "core/worker_pool.h"

namespace xy::bench {
namespace {

WorkerPool& pool() {
  static WorkerPool p({.num_workers = bench_threads(), .pin = true});
  return p;
}

constexpr size_t kReadBytes = size_t{512} << 20;
constexpr size_t kHugePage = size_t{2} << 20;

// An anonymous mapping advised to use (or not) transparent huge pages, touched once.
struct Mapping {
  void* base = nullptr;
  size_t bytes = 0;
  char* data = nullptr;  // 2 MiB aligned inside base
  Mapping(size_t n, bool huge) : bytes(n + kHugePage) {
    base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
      base = nullptr;
      return;
    }
    const uintptr_t p = (reinterpret_cast<uintptr_t>(base) + kHugePage - 1) & ~(kHugePage - 1);
    data = reinterpret_cast<char*>(p);
    madvise(data, n, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    std::memset(data, 1, n);
  }
  ~Mapping() {
    if (base != nullptr) munmap(base, bytes);
  }
};

__attribute__((target("avx2"))) uint64_t read_avx2(const char* p, size_t n) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 128 <= n; i += 128) {
    a0 = _mm256_add_epi32(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    a1 = _mm256_add_epi32(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    a2 = _mm256_add_epi32(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    a3 = _mm256_add_epi32(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  const __m256i s = _mm256_add_epi32(_mm256_add_epi32(a0, a1), _mm256_add_epi32(a2, a3));
  return static_cast<uint64_t>(_mm256_extract_epi64(s, 0) ^ _mm256_extract_epi64(s, 3));
}

void BM_ReadBandwidth(benchmark::State& state, bool huge) {
  if (!cpu_features().avx2) {
    state.SkipWithError("needs AVX2");
    return;
  }
  Mapping m(kReadBytes, huge);
  if (m.data == nullptr) {
    state.SkipWithError("mmap failed");
    return;
  }
  const int w = pool().num_workers();
  std::vector<uint64_t> sink(static_cast<size_t>(w));
  const size_t slice = kReadBytes / w / 128 * 128;
  for (auto _ : state) {
    pool().run(w, [&](int t) { sink[t] += read_avx2(m.data + t * slice, slice); });
  }
  benchmark::DoNotOptimize(sink.data());
  state.counters["Bytes"] = benchmark::Counter(static_cast<double>(slice) * w,
                                               benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::to_string(w) + " threads");
}

constexpr int kFmaIters = 1 << 22;

__attribute__((target("avx2,fma"))) float fma_loop(float seed) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(seed + i);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (int it = 0; it < kFmaIters; ++it) {
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  }
  __m256 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, acc[i]);
  return _mm256_cvtss_f32(s);
}

void BM_F32FmaPeak(benchmark::State& state) {
  if (!cpu_features().has_avx2_fma_f16c()) {
    state.SkipWithError("needs AVX2+FMA");
    return;
  }
  const int w = pool().num_workers();
  std::vector<float> sink(static_cast<size_t>(w));
  for (auto _ : state) pool().run(w, [&](int t) { sink[t] += fma_loop(static_cast<float>(t)); });
  benchmark::DoNotOptimize(sink.data());
  state.counters["FLOPs"] = benchmark::Counter(2.0 * 8 * 12 * kFmaIters * w,
                                               benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::to_string(w) + " threads");
}

constexpr int kPanelK = 256;  // 256 x 16 bf16 = 8 KiB panel + 6 x 256 f32 = 6 KiB rows: in L1
constexpr int kBf16Reps = 1 << 13;

__attribute__((target("avx2,fma"))) float bf16_tile_loop(const uint16_t* panel, const float* x) {
  __m256 acc[6][2];
  for (auto& r : acc) r[0] = r[1] = _mm256_setzero_ps();
  const __m256i hi_mask = _mm256_set1_epi32(static_cast<int>(0xffff0000u));
  for (int rep = 0; rep < kBf16Reps; ++rep) {
    for (int k = 0; k < kPanelK; ++k) {
      const __m256i w = _mm256_load_si256(reinterpret_cast<const __m256i*>(panel + k * 16));
      const __m256 lo = _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
      const __m256 hi = _mm256_castsi256_ps(_mm256_and_si256(w, hi_mask));
      for (int r = 0; r < 6; ++r) {
        const __m256 a = _mm256_broadcast_ss(x + r * kPanelK + k);
        acc[r][0] = _mm256_fmadd_ps(a, lo, acc[r][0]);
        acc[r][1] = _mm256_fmadd_ps(a, hi, acc[r][1]);
      }
    }
  }
  __m256 s = _mm256_setzero_ps();
  for (auto& r : acc) s = _mm256_add_ps(s, _mm256_add_ps(r[0], r[1]));
  return _mm256_cvtss_f32(s);
}

void BM_Bf16WidenFmaPeak(benchmark::State& state) {
  if (!cpu_features().has_avx2_fma_f16c()) {
    state.SkipWithError("needs AVX2+FMA");
    return;
  }
  const int w = pool().num_workers();
  std::vector<std::vector<uint16_t>> panels(static_cast<size_t>(w));
  std::vector<std::vector<float>> xs(static_cast<size_t>(w));
  for (int t = 0; t < w; ++t) {
    std::vector<float> f(kPanelK * 16 + 16);
    fill_random(f.data(), f.size(), t);
    panels[t].resize(kPanelK * 16 + 16);  // + slack to align to 32 bytes below
    xs[t].resize(6 * kPanelK);
    fill_random(xs[t].data(), xs[t].size(), 100 + t);
    for (size_t i = 0; i < panels[t].size(); ++i) {
      uint32_t u;
      std::memcpy(&u, &f[i], 4);
      panels[t][i] = static_cast<uint16_t>(u >> 16);
    }
  }
  std::vector<float> sink(static_cast<size_t>(w));
  for (auto _ : state) {
    pool().run(w, [&](int t) {
      const uintptr_t p = (reinterpret_cast<uintptr_t>(panels[t].data()) + 31) & ~uintptr_t{31};
      sink[t] += bf16_tile_loop(reinterpret_cast<const uint16_t*>(p), xs[t].data());
    });
  }
  benchmark::DoNotOptimize(sink.data());
  state.counters["FLOPs"] = benchmark::Counter(2.0 * 6 * 16 * kPanelK * kBf16Reps * w,
                                               benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::to_string(w) + " threads, AVX2 widen+FMA (no AVX512_BF16 used)");
}

// 12 chains hide the FMA / vdpbf16ps latency at two issues per cycle.
constexpr int kZmmIters = 1 << 16;

// Sum of every lane (through memory: GCC 12 flags its own _mm512_reduce_add_ps as reading an
// uninitialized value).
__attribute__((target("avx512f"))) float lane_sum(const __m512 (&acc)[12]) {
  alignas(64) float lanes[16];
  float sum = 0;
  for (const __m512& v : acc) {
    _mm512_store_ps(lanes, v);
    for (float l : lanes) sum += l;
  }
  return sum;
}

__attribute__((target("avx512f"))) float fma512_loop(float seed) {
  __m512 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(seed + 0.001f * static_cast<float>(i));
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.0001f);
  for (int it = 0; it < kZmmIters; ++it) {
    for (auto& v : acc) v = _mm512_fmadd_ps(v, a, b);
  }
  return lane_sum(acc);
}

__attribute__((target("avx512f,avx512bf16"))) float bf16_dot_loop(float seed) {
  __m512 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(seed + 0.001f * static_cast<float>(i));
  const __m512i a = _mm512_set1_epi32(0x3f7f3f7f), b = _mm512_set1_epi32(0x38d138d1);
  for (int it = 0; it < kZmmIters; ++it) {
    for (auto& v : acc) v = _mm512_dpbf16_ps(v, (__m512bh)a, (__m512bh)b);
  }
  return lane_sum(acc);
}

__attribute__((target("avx512f,avx512vnni"))) float int8_dot_loop(float seed) {
  __m512i acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_epi32(static_cast<int>(seed) + i);
  const __m512i a = _mm512_set1_epi32(0x01020304), b = _mm512_set1_epi32(0x01ff01ff);
  for (int it = 0; it < kZmmIters; ++it) {
    for (auto& v : acc) v = _mm512_dpbusd_epi32(v, a, b);
  }
  alignas(64) int32_t lanes[16];
  int64_t sum = 0;
  for (const __m512i& v : acc) {
    _mm512_store_si512(lanes, v);
    for (int32_t l : lanes) sum += l;
  }
  return static_cast<float>(sum);
}

// One zmm peak: its loop, what it needs, and how much one instruction does (16 lanes x
// mul + add | 2 products + 2 adds | 4 products + 4 adds).
struct ZmmPeak {
  float (*loop)(float seed);
  bool (*supported)(const CpuFeatures& f);
  const char* needs;
  const char* counter;
  double ops_per_instruction;
};

constexpr ZmmPeak kFma512{fma512_loop, [](const CpuFeatures& f) { return f.avx512f; },
                          "needs AVX-512", "FLOPs", 32.0};
constexpr ZmmPeak kBf16Dot{bf16_dot_loop, [](const CpuFeatures& f) { return f.has_avx512_bf16(); },
                           "needs AVX512_BF16", "FLOPs", 64.0};
constexpr ZmmPeak kInt8Dot{int8_dot_loop,
                           [](const CpuFeatures& f) { return f.avx512f && f.avx512vnni; },
                           "needs AVX512_VNNI", "OPs", 128.0};

void BM_ZmmPeak(benchmark::State& state, const ZmmPeak& peak) {
  if (!peak.supported(cpu_features())) {
    state.SkipWithError(peak.needs);
    return;
  }
  const int w = pool().num_workers();
  std::vector<float> sink(static_cast<size_t>(w));
  for (auto _ : state) {
    pool().run(w, [&](int t) { sink[t] += peak.loop(static_cast<float>(t)); });
  }
  benchmark::DoNotOptimize(sink.data());
  state.counters[peak.counter] = benchmark::Counter(peak.ops_per_instruction * 12 * kZmmIters * w,
                                                    benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::to_string(w) + " threads");
}

}  // namespace
}  // namespace xy::bench

int main(int argc, char** argv) {
  using namespace xy::bench;
  benchmark::RegisterBenchmark("machine/read_bw/pages:4k", BM_ReadBandwidth, false)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("machine/read_bw/pages:huge", BM_ReadBandwidth, true)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("machine/f32_fma_peak", BM_F32FmaPeak)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("machine/bf16_widen_fma_peak", BM_Bf16WidenFmaPeak)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("machine/f32_fma512_peak", BM_ZmmPeak, kFma512)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("machine/bf16_dot_peak", BM_ZmmPeak, kBf16Dot)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("machine/int8_dot_peak", BM_ZmmPeak, kInt8Dot)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::AddCustomContext("xy_threads", std::to_string(bench_threads()));
  return xy::bench::run_benchmarks(argc, argv);
}
