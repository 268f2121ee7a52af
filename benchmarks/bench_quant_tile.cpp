// QuantGEMM's AVX-512 VNNI register tiles alone, on one thread, over activation codes and weight
// panels that stay in cache: what a tile can do without the GEMM's DRAM passes, Task-Table and
// worker pool around it. Compare with `bench_machine --benchmark_filter=int8_dot_peak` at
// XY_BENCH_THREADS=1 (the vpdpbusd chains alone) and with bench_gemm's quant_* cells.
//   quant_tile/<format>/<mr>x<16 np>/K:<k>/rows:<r>
//     format  q8_0 (8-bit codes), q4_0 (4-bit), q4_k (4-bit with minimums), q6_k (6-bit)
//     rows    the tile's own rows (the same tile again and again: all in L1 at K = 512) or 64
//             (a run of m-tiles over the same panels, the GEMM's inner order: codes in L2)
// Counters: OPs (2 per multiply-add, as bench_gemm) and vpdpbusd (instructions per second: each
// tile issues 8 per 32 k per row and panel, whatever the format), per CPU second of the one
// thread (time other processes take from it does not count). Skipped without AVX512_VNNI.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bench_common.h"
#include "core/cpu_features.h"
#include "kernels/cpu/quant_gemm.h"
#include "kernels/cpu/quant_gemm_tiles.h"
#include "kernels/cpu/quant_weight.h"
#include "kernels/reference/quant_blocks.h"

namespace xy::bench {
namespace {

struct Format {
  const char* name;
  ref::BlockFormat format;
  void (*quantize_row)(const float* x, uint8_t* blocks, int64_t n);
};

constexpr Format kFormats[] = {{"q8_0", ref::BlockFormat::kQ8_0, ref::quantize_row_q8_0},
                               {"q4_0", ref::BlockFormat::kQ4_0, ref::quantize_row_q4_0},
                               {"q4_k", ref::BlockFormat::kQ4_K, ref::quantize_row_q4_k},
                               {"q6_k", ref::BlockFormat::kQ6_K, ref::quantize_row_q6_k}};

void run_tile(benchmark::State& state, const Format& f, int mr, int np, int k, int rows) {
  const CpuFeatures& cpu = cpu_features();
  if (!(cpu.avx512f && cpu.avx512bw && cpu.avx512vl && cpu.avx512vnni)) {
    state.SkipWithError("needs AVX512_VNNI");
    return;
  }
  // np panels of 16 columns, from the format's blocks of random weights.
  const int n = 16 * np;
  std::vector<float> w(static_cast<size_t>(n) * k);
  fill_random(w.data(), w.size(), 7);
  const size_t row_bytes = ref::block_format_row_bytes(f.format, k);
  std::vector<uint8_t> blocks(row_bytes * n);
  for (int r = 0; r < n; ++r)
    f.quantize_row(w.data() + static_cast<size_t>(r) * k, blocks.data() + r * row_bytes, k);
  const cpu::QuantSource part{blocks.data(), f.format, n};
  Result<cpu::QuantWeight> packed = cpu::QuantWeight::pack({&part, 1}, k);
  if (!packed.is_ok()) {
    const std::string why = packed.status().message();
    state.SkipWithError(why.c_str());
    return;
  }
  const cpu::QuantWeight& qw = *packed;

  // rows of activations, quantized per row and per 32 as quant_gemm does.
  std::vector<float> x(static_cast<size_t>(rows) * k), y(static_cast<size_t>(rows) * n);
  fill_random(x.data(), x.size(), 11);
  const int groups = qw.num_groups();
  std::vector<int8_t> codes(x.size());
  std::vector<float> scales(static_cast<size_t>(rows) * groups), scaled_sums(scales.size());
  std::vector<int32_t> sums(scales.size()), half_sums(scales.size());
  const cpu::detail::QuantizedRows a{
      codes.data(), k, scales.data(), sums.data(), scaled_sums.data(), half_sums.data(), groups};
  cpu::detail::quantize_rows_avx512(x.data(), k, rows, k, a);
  const cpu::detail::QuantGemmProblem p =
      cpu::detail::quant_gemm_problem(qw, {.m = rows, .x = x.data(), .y = y.data()}, a);
  const cpu::detail::QuantTileFn tile =
      cpu::detail::avx512_vnni_quant_tile_fn(mr, np, qw.bits(), qw.has_min());
  if (tile == nullptr) {
    state.SkipWithError("no such tile");
    return;
  }

  for (auto _ : state) {
    for (int m0 = 0; m0 < rows; m0 += mr) tile(p, m0, 0, /*next_panels=*/0);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  const double tiles = rows / mr;
  state.counters["OPs"] =
      benchmark::Counter(2.0 * tiles * mr * n * k, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["vpdpbusd"] = benchmark::Counter(tiles * (k / 4.0) * mr * np,
                                                  benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(qw.format_name()));
}

}  // namespace
}  // namespace xy::bench

int main(int argc, char** argv) {
  using namespace xy::bench;
  for (const Format& f : kFormats) {
    for (const auto& shape : xy::cpu::kQuantGemmKernelShapes) {
      const int mr = shape[0], np = shape[1];
      for (int k : {512, 2048}) {
        for (int rows : {mr, 64 / mr * mr}) {
          const std::string name = std::string("quant_tile/") + f.name + "/" + std::to_string(mr) +
                                   "x" + std::to_string(16 * np) + "/K:" + std::to_string(k) +
                                   "/rows:" + std::to_string(rows);
          benchmark::RegisterBenchmark(name.c_str(), [&f, mr, np, k, rows](benchmark::State& st) {
            run_tile(st, f, mr, np, k, rows);
          })->Unit(benchmark::kMicrosecond);
        }
      }
    }
  }
  return xy::bench::run_benchmarks(argc, argv);
}
