// SmoothGEMM vs oneDNN matmul and OpenBLAS sgemm on the linear layers of the smollm2-135m,
// qwen2.5-0.5b and llama-3.2-1b presets, M in {1, 4, 16, 64, 256, 512, 1024, 4096}, same threads.
// Names: gemm/<impl>/<model>/<op>/M:<m>; counters FLOPs (rate) and Bytes (weights + x + y,
// rate). scripts/bench_kernels.sh turns them into GFLOP/s, GB/s, ratios and % of ceiling.
//   impl: smooth_bf16, smooth_f32 (ours), quant_q8_0 / quant_q4_0 / quant_q6_k (ours: QuantGEMM
//         on the weight quantized to Q8_0 / Q4_0 / Q6_K; Q6_K only where K % 256 == 0), dnnl_bf16
//         (bf16 x bf16 -> f32, x converted once outside the loop), dnnl_bf16_from_f32 (the same
//         with x converted from f32 in every call, as ours does), dnnl_f32, dnnl_s8 (u8 x s8 ->
//         s32), dnnl_s8_from_f32 (the same with x converted f32 -> u8 in every call: a plain
//         conversion, a lower bound of the dynamic per-row quantization ours does), openblas_f32
//         (sgemm, x · Wᵀ with W row-major [N, K]).
// Weights are packed / reordered once outside the timed loop for every library; oneDNN also
// gets one primitive per M, created outside the loop. Threads: XY_BENCH_THREADS or all CPUs.
// XY_BENCH_IMPLS selects implementations (see impl_selected).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "bench_common.h"
#include "core/cpu_features.h"
#include "core/dtype.h"
#include "core/worker_pool.h"
#include "kernels/cpu/quant_gemm.h"
#include "kernels/cpu/smooth_gemm.h"
#include "kernels/reference/quant_blocks.h"

#ifdef XY_BENCH_HAVE_DNNL
#include <omp.h>

#include <dnnl.hpp>
#endif
#ifdef XY_BENCH_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace xy::bench {
namespace {

struct OpShape {
  std::string model, op;
  int rows, k;  // source weight [rows, k]; gate_up has rows = 2I
  cpu::WeightLayout layout;
  int out_cols() const { return layout == cpu::WeightLayout::kGateUp ? rows / 2 : rows; }
};

std::vector<OpShape> preset_shapes() {
  struct M {
    const char* name;
    int hidden, inter, heads, kv_heads, head_dim, vocab;
  };
  const M models[] = {{"smollm2-135m", 576, 1536, 9, 3, 64, 49152},
                      {"qwen2.5-0.5b", 896, 4864, 14, 2, 64, 151936},
                      {"llama-3.2-1b", 2048, 8192, 32, 8, 64, 128256}};
  std::vector<OpShape> out;
  for (const M& m : models) {
    const int q = m.heads * m.head_dim, kv = m.kv_heads * m.head_dim;
    out.push_back({m.name, "qkv", q + 2 * kv, m.hidden, cpu::WeightLayout::kPlain});
    out.push_back({m.name, "o", m.hidden, q, cpu::WeightLayout::kPlain});
    out.push_back({m.name, "gate_up", 2 * m.inter, m.hidden, cpu::WeightLayout::kGateUp});
    out.push_back({m.name, "down", m.hidden, m.inter, cpu::WeightLayout::kPlain});
    out.push_back({m.name, "lm_head", m.vocab, m.hidden, cpu::WeightLayout::kPlain});
  }
  return out;
}

WorkerPool& pool() {
  static WorkerPool p({.num_workers = bench_threads(), .pin = true});
  return p;
}

// The source weight of the most recent shape (benchmarks run shape by shape).
const std::vector<float>& source_weight(const OpShape& s) {
  static std::string key;
  static std::vector<float> w;
  const std::string k = s.model + "/" + s.op;
  if (k != key) {
    w.assign(static_cast<size_t>(s.rows) * s.k, 0.0f);
    fill_random(w.data(), w.size(), std::hash<std::string>()(k));
    key = k;
  }
  return w;
}

void set_counters(benchmark::State& state, const OpShape& s, int m, double weight_bytes) {
  // gate_up computes 2I columns before the fused SiLU·up; FLOPs count the GEMM.
  const double flops = 2.0 * m * s.rows * static_cast<double>(s.k);
  const double bytes = weight_bytes + 4.0 * m * s.k + 4.0 * m * s.out_cols();
  state.counters["FLOPs"] =
      benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["Bytes"] =
      benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate);
}

// The packed weight of the most recent (shape, format) key, packed once by `pack` (benchmarks run
// shape by shape, so one cached weight per kind is enough); null after a packing error, which is
// reported through `state`.
template <class Packed, class PackFn>
const Packed* packed_once(benchmark::State& state, const std::string& key, PackFn&& pack) {
  static std::string cached_key;
  static Packed packed;
  if (key != cached_key) {
    packed = {};
    cached_key.clear();
    Result<Packed> r = pack();
    if (!r.is_ok()) {
      state.SkipWithError(r.status().to_string().c_str());
      return nullptr;
    }
    packed = std::move(r).value();
    cached_key = key;
  }
  return &packed;
}

void run_smooth(benchmark::State& state, const OpShape& s, int m, DType storage) {
  const std::string k = s.model + "/" + s.op + "/" + std::string(dtype_name(storage));
  const cpu::PackedWeight* w = packed_once<cpu::PackedWeight>(state, k, [&] {
    return cpu::PackedWeight::pack(source_weight(s).data(), DType::kF32, s.rows, s.k, storage,
                                   s.layout, k);
  });
  if (w == nullptr) return;
  const cpu::PackedWeight& packed = *w;
  std::vector<float> x(static_cast<size_t>(m) * s.k), y(static_cast<size_t>(m) * s.out_cols());
  fill_random(x.data(), x.size(), 99);
  cpu::GemmArgs args;
  args.m = m;
  args.x = x.data();
  args.y = y.data();
  const cpu::GemmTileConfig config =
      cpu::choose_gemm_config(packed, m, pool().num_workers(), nullptr);
  for (auto _ : state) {
    cpu::smooth_gemm(packed, args, pool());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetLabel(std::string(cpu::gemm_isa_name(cpu::default_gemm_isa())) + " " +
                 config.to_string());
  set_counters(state, s, m, static_cast<double>(s.rows) * s.k * dtype_size(storage));
}

// QuantGEMM on the source weight quantized to Q8_0 / Q4_0 / Q6_K blocks (the files' formats),
// packed once.
void run_quant(benchmark::State& state, const OpShape& s, int m, ref::BlockFormat format) {
  const std::string k = s.model + "/" + s.op + "/" + std::to_string(int(format));
  const cpu::QuantWeight* qw = packed_once<cpu::QuantWeight>(state, k, [&] {
    const std::vector<float>& w = source_weight(s);
    const size_t row_bytes = ref::block_format_row_bytes(format, s.k);
    std::vector<uint8_t> blocks(row_bytes * s.rows);
    for (int r = 0; r < s.rows; ++r) {
      const float* src = w.data() + static_cast<size_t>(r) * s.k;
      if (format == ref::BlockFormat::kQ8_0) {
        ref::quantize_row_q8_0(src, blocks.data() + r * row_bytes, s.k);
      } else if (format == ref::BlockFormat::kQ6_K) {
        ref::quantize_row_q6_k(src, blocks.data() + r * row_bytes, s.k);
      } else {
        ref::quantize_row_q4_0(src, blocks.data() + r * row_bytes, s.k);
      }
    }
    const cpu::QuantSource part{blocks.data(), format, s.rows};
    return cpu::QuantWeight::pack({&part, 1}, s.k, s.layout, k);
  });
  if (qw == nullptr) return;
  const cpu::QuantWeight& packed = *qw;
  std::vector<float> x(static_cast<size_t>(m) * s.k), y(static_cast<size_t>(m) * s.out_cols());
  fill_random(x.data(), x.size(), 99);
  const cpu::GemmArgs args{.m = m, .x = x.data(), .y = y.data()};
  for (auto _ : state) {
    cpu::quant_gemm(packed, args, pool());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetLabel(
      std::string(cpu::quant_gemm_isa_name(cpu::quant_gemm_isa_for(cpu::default_gemm_isa()))) +
      " " + cpu::default_quant_gemm_config(m, s.k).to_string());
  set_counters(state, s, m, static_cast<double>(packed.bytes()));
}

#ifdef XY_BENCH_HAVE_DNNL
enum class DnnlType { kF32, kBf16, kInt8 };

// kInt8 is oneDNN's u8 x s8 -> s32 matmul (the integer kernel QuantGEMM is compared with).
// x_from_f32: the timed call also converts x from f32 (a reorder), as ours does in every call:
// in a model the activations arrive in f32. Without it oneDNN's x is converted once, outside
// the timed loop. (For kInt8 the reorder is a plain conversion, without the per-row scales that
// ours computes: a lower bound of that work.)
void run_dnnl(benchmark::State& state, const OpShape& s, int m, DnnlType type,
              bool x_from_f32 = false) {
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  try {
    static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
    dnnl::stream stream(eng);
    const dt wdt = type == DnnlType::kBf16 ? dt::bf16 : type == DnnlType::kInt8 ? dt::s8 : dt::f32;
    const dt xdt = type == DnnlType::kInt8 ? dt::u8 : wdt;
    const dnnl::memory::dim M = m, K = s.k, N = s.rows;
    dnnl::memory::desc src_md({M, K}, xdt, tag::ab);
    dnnl::memory::desc wei_any({K, N}, wdt, tag::any);
    dnnl::memory::desc dst_md({M, N}, type == DnnlType::kInt8 ? dt::s32 : dt::f32, tag::ab);
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, wei_any, dst_md), eng);
    // W[N, K] row-major is the [K, N] matrix in "ba" order; reorder once into oneDNN's layout.
    const std::vector<float>& w = source_weight(s);
    dnnl::memory w_user({{K, N}, dt::f32, tag::ba}, eng, const_cast<float*>(w.data()));
    dnnl::memory w_mem(pd.weights_desc(), eng);
    dnnl::reorder(w_user, w_mem).execute(stream, w_user, w_mem);
    std::vector<float> xf(static_cast<size_t>(M * K));
    fill_random(xf.data(), xf.size(), 99);
    dnnl::memory x_user({{M, K}, dt::f32, tag::ab}, eng, xf.data());
    dnnl::memory x_mem(src_md, eng);
    dnnl::reorder(x_user, x_mem).execute(stream, x_user, x_mem);
    dnnl::memory y_mem(dst_md, eng);
    stream.wait();
    dnnl::matmul mm(pd);
    dnnl::reorder convert_x(x_user, x_mem);
    for (auto _ : state) {
      if (x_from_f32) convert_x.execute(stream, x_user, x_mem);
      mm.execute(stream, {{DNNL_ARG_SRC, x_mem}, {DNNL_ARG_WEIGHTS, w_mem}, {DNNL_ARG_DST, y_mem}});
      stream.wait();
    }
    state.SetLabel(pd.impl_info_str());
  } catch (const dnnl::error& e) {
    state.SkipWithError((std::string("oneDNN: ") + e.what()).c_str());
    return;
  }
  set_counters(state, s, m,
               static_cast<double>(s.rows) * s.k *
                   (type == DnnlType::kF32    ? 4
                    : type == DnnlType::kBf16 ? 2
                                              : 1));
}
#endif

#ifdef XY_BENCH_HAVE_OPENBLAS
void run_openblas(benchmark::State& state, const OpShape& s, int m) {
  const std::vector<float>& w = source_weight(s);
  std::vector<float> x(static_cast<size_t>(m) * s.k), y(static_cast<size_t>(m) * s.rows);
  fill_random(x.data(), x.size(), 99);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, s.rows, s.k, 1.0f, x.data(), s.k,
                w.data(), s.k, 0.0f, y.data(), s.rows);
    benchmark::DoNotOptimize(y.data());
  }
  set_counters(state, s, m, static_cast<double>(s.rows) * s.k * 4);
}
#endif

// XY_BENCH_IMPLS="smooth,dnnl": only implementations whose name starts with one of these.
// scripts/bench_kernels.sh runs each library in its own process: idle OpenMP / OpenBLAS / pool
// threads spin for a while after each call and would steal cycles from the next library.
bool impl_selected(const std::string& impl) {
  const char* env = std::getenv("XY_BENCH_IMPLS");
  if (env == nullptr || *env == '\0') return true;
  std::string list = std::string(env) + ",";
  for (size_t pos = 0, next; (next = list.find(',', pos)) != std::string::npos; pos = next + 1) {
    const std::string prefix = list.substr(pos, next - pos);
    if (!prefix.empty() && impl.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

void register_all() {
  const int ms[] = {1, 4, 16, 64, 256, 512, 1024, 4096};
  for (const OpShape& s : preset_shapes()) {
    for (int m : ms) {
      if (s.op == "lm_head" && m > 64) continue;  // logits are computed only for sampled rows
      const std::string suffix = "/" + s.model + "/" + s.op + "/M:" + std::to_string(m);
      auto reg = [&](const std::string& impl, auto fn) {
        if (!impl_selected(impl)) return;
        benchmark::RegisterBenchmark(("gemm/" + impl + suffix).c_str(), fn)
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond)
            ->MinTime(0.2);
      };
      reg("smooth_bf16", [s, m](benchmark::State& st) { run_smooth(st, s, m, DType::kBF16); });
      reg("smooth_f32", [s, m](benchmark::State& st) { run_smooth(st, s, m, DType::kF32); });
      for (ref::BlockFormat f :
           {ref::BlockFormat::kQ8_0, ref::BlockFormat::kQ4_0, ref::BlockFormat::kQ6_K}) {
        if (f == ref::BlockFormat::kQ6_K && s.k % 256 != 0) continue;
        const std::string name = f == ref::BlockFormat::kQ8_0   ? "quant_q8_0"
                                 : f == ref::BlockFormat::kQ4_0 ? "quant_q4_0"
                                                                : "quant_q6_k";
        reg(name, [s, m, f](benchmark::State& st) { run_quant(st, s, m, f); });
      }
#ifdef XY_BENCH_HAVE_DNNL
      reg("dnnl_bf16", [s, m](benchmark::State& st) { run_dnnl(st, s, m, DnnlType::kBf16); });
      reg("dnnl_bf16_from_f32",
          [s, m](benchmark::State& st) { run_dnnl(st, s, m, DnnlType::kBf16, true); });
      reg("dnnl_f32", [s, m](benchmark::State& st) { run_dnnl(st, s, m, DnnlType::kF32); });
      reg("dnnl_s8", [s, m](benchmark::State& st) { run_dnnl(st, s, m, DnnlType::kInt8); });
      reg("dnnl_s8_from_f32",
          [s, m](benchmark::State& st) { run_dnnl(st, s, m, DnnlType::kInt8, true); });
#endif
#ifdef XY_BENCH_HAVE_OPENBLAS
      reg("openblas_f32", [s, m](benchmark::State& st) { run_openblas(st, s, m); });
#endif
    }
  }
}

}  // namespace
}  // namespace xy::bench

int main(int argc, char** argv) {
  const int threads = xy::bench::bench_threads();
#ifdef XY_BENCH_HAVE_DNNL
  omp_set_num_threads(threads);
#endif
#ifdef XY_BENCH_HAVE_OPENBLAS
  openblas_set_num_threads(threads);
#endif
  benchmark::AddCustomContext("xy_threads", std::to_string(threads));
  xy::bench::register_all();
  return xy::bench::run_benchmarks(argc, argv);
}
