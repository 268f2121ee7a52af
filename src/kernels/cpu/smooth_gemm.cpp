#include "kernels/cpu/smooth_gemm.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "core/check.h"
#include "core/cpu_features.h"
#include "kernels/cpu/gemm_task_table.h"
#include "kernels/cpu/smooth_gemm_tiles.h"

namespace xy::cpu {

const char* gemm_isa_name(GemmIsa isa) {
  switch (isa) {
    case GemmIsa::kAvx512Bf16:
      return "avx512bf16";
    case GemmIsa::kAvx512:
      return "avx512";
    case GemmIsa::kAvx2:
      return "avx2";
    case GemmIsa::kScalar:
      break;
  }
  return "scalar";
}

bool gemm_isa_supported(GemmIsa isa) {
  const CpuFeatures& f = cpu_features();
  switch (isa) {
    case GemmIsa::kAvx512Bf16:
      return gemm_isa_supported(GemmIsa::kAvx512) && f.has_avx512_bf16();
    case GemmIsa::kAvx512:
      // The kernels use zmm FMAs and k-masks (f), 16-bit zero-extension (bw), masked ymm
      // epilogue ops (vl); the files are built with -mfma/-mf16c too, which every AVX-512 CPU has.
      return f.avx512f && f.avx512bw && f.avx512vl && f.has_avx2_fma_f16c();
    case GemmIsa::kAvx2:
      return f.has_avx2_fma_f16c();
    case GemmIsa::kScalar:
      return true;
  }
  return false;
}

GemmIsa best_gemm_isa() {
  if (gemm_isa_supported(GemmIsa::kAvx512)) return GemmIsa::kAvx512;
  return gemm_isa_supported(GemmIsa::kAvx2) ? GemmIsa::kAvx2 : GemmIsa::kScalar;
}

std::optional<GemmIsa> gemm_isa_from_name(std::string_view name) {
  for (GemmIsa isa : {GemmIsa::kScalar, GemmIsa::kAvx2, GemmIsa::kAvx512, GemmIsa::kAvx512Bf16}) {
    if (name == gemm_isa_name(isa)) return isa;
  }
  return std::nullopt;
}

namespace {

GemmIsa isa_from_env() {
  const char* env = std::getenv("XY_GEMM_ISA");
  if (env == nullptr || *env == '\0') return best_gemm_isa();
  if (const std::optional<GemmIsa> isa = gemm_isa_from_name(env)) {
    if (gemm_isa_supported(*isa)) return *isa;
    std::fprintf(stderr, "xyserve: XY_GEMM_ISA=%s is not supported by this CPU; using %s\n", env,
                 gemm_isa_name(best_gemm_isa()));
    return best_gemm_isa();
  }
  std::fprintf(stderr,
               "xyserve: XY_GEMM_ISA=%s is not one of scalar, avx2, avx512, avx512bf16; using %s\n",
               env, gemm_isa_name(best_gemm_isa()));
  return best_gemm_isa();
}

}  // namespace

namespace detail {

int64_t bf16_pair_stride(int k) {
  constexpr int64_t kLine = 16;         // pairs per 64-byte cache line
  constexpr int64_t kPagePairs = 1024;  // pairs per 4 KiB
  int64_t stride = (static_cast<int64_t>(k) + 1) / 2;
  stride = (stride + kLine - 1) / kLine * kLine;
  if (stride % kPagePairs == 0) stride += kLine;
  return stride;
}

GemmProblem gemm_problem(const GemmArgs& args, int k, WeightLayout layout, int out_cols,
                         const void* panels) {
  GemmProblem p;
  p.x = args.x;
  p.ldx = args.ldx != 0 ? args.ldx : k;
  p.m = args.m;
  p.k = k;
  p.panels = panels;
  p.gate_up = layout == WeightLayout::kGateUp;
  p.out_cols = out_cols;
  p.y = args.y;
  p.ldy = args.ldy != 0 ? args.ldy : p.out_cols;
  p.bias = args.bias;
  p.bias_up = (p.gate_up && args.bias != nullptr) ? args.bias + p.out_cols : nullptr;
  p.residual = args.residual;
  p.ldr = args.ldr != 0 ? args.ldr : (args.residual == args.y ? p.ldy : p.out_cols);
  XY_CHECK(p.ldx >= p.k && p.ldy >= p.out_cols);
  XY_CHECK_MSG(!(p.gate_up && p.residual != nullptr), "residual add is for plain weights only");
  XY_CHECK_MSG(p.residual == nullptr || p.residual == p.y || p.ldr >= p.out_cols,
               "residual row stride too small");
  XY_CHECK_MSG(p.residual != p.y || p.ldr == p.ldy, "in-place residual needs ldr == ldy");
  return p;
}

}  // namespace detail

GemmIsa default_gemm_isa() {
  static const GemmIsa isa = isa_from_env();
  return isa;
}

GemmTileConfig choose_gemm_config(const PackedWeight& w, int m, int num_workers,
                                  const GemmTuneTable* tuned, std::optional<GemmIsa> isa_opt) {
  const GemmIsa isa = isa_opt.value_or(default_gemm_isa());
  if (tuned != nullptr && tuned->isa == gemm_isa_name(isa)) {
    const GemmShapeKey key{w.n_rows(), w.k(), w.storage(), w.layout()};
    if (const GemmTileConfig* c = tuned->find(key, m)) {
      if (is_supported_gemm_kernel(isa, c->mr, c->np)) return *c;
    }
  }
  return default_gemm_config(m, w.k(), w.num_panels(), num_workers, isa);
}

void smooth_gemm(const PackedWeight& w, const GemmArgs& args, WorkerPool& pool,
                 const GemmTuneTable* tuned, std::optional<GemmIsa> isa) {
  const GemmIsa use = isa.value_or(default_gemm_isa());
  smooth_gemm_with(w, args, pool, use,
                   choose_gemm_config(w, args.m, pool.num_workers(), tuned, use));
}

void smooth_gemm_with(const PackedWeight& w, const GemmArgs& args, WorkerPool& pool, GemmIsa isa,
                      const GemmTileConfig& config) {
  XY_CHECK(args.m >= 0);
  if (args.m == 0) return;
  XY_CHECK_MSG(!w.empty(), "smooth_gemm on an empty PackedWeight");
  XY_CHECK(args.x != nullptr && args.y != nullptr);
  XY_CHECK_MSG(gemm_isa_supported(isa), "smooth_gemm: ISA not supported by this CPU");
  XY_CHECK_MSG(is_supported_gemm_kernel(isa, config.mr, config.np) && config.m_block >= 1,
               "smooth_gemm: no such micro-kernel for this ISA");
  XY_CHECK_MSG(config.kc >= 0 && config.kc % 2 == 0, "smooth_gemm: kc must be even");

  detail::GemmProblem p = detail::gemm_problem(args, w.k(), w.layout(), w.out_cols(), w.data());

  if (isa == GemmIsa::kAvx512Bf16 && w.storage() == DType::kBF16) {
    const detail::RunFn run = detail::avx512_bf16_dot_run_fn(config.mr, config.np, w.storage());
    XY_CHECK(run != nullptr);
    // x rounded to bf16 pairs once per call (a per-thread buffer, reused across calls).
    thread_local std::vector<uint32_t> x_bf16_buffer;
    p.ldx_bf16 = detail::bf16_pair_stride(p.k);
    p.kc_pairs = config.kc / 2;
    x_bf16_buffer.resize(static_cast<size_t>(p.m) * p.ldx_bf16);
    // A plain pointer: inside the lambda, the thread_local name would denote each worker's own
    // (empty) buffer.
    uint32_t* x_bf16 = x_bf16_buffer.data();
    const int conv_workers = std::min(pool.num_workers(), p.m);
    pool.run(conv_workers, [&](int worker) {
      const int r0 = p.m * worker / conv_workers, r1 = p.m * (worker + 1) / conv_workers;
      detail::avx512_convert_x_bf16(p.x + r0 * p.ldx, p.ldx, r1 - r0, p.k, x_bf16 + r0 * p.ldx_bf16,
                                    p.ldx_bf16);
    });
    p.x_bf16 = x_bf16;
    detail::run_task_table_runs(pool, args.m, w.num_panels(), w.num_panels_padded(), config,
                                [&](int m_tile0, int m_tiles, int n_tile) {
                                  run(p, m_tile0 * config.mr, m_tiles, n_tile * config.np);
                                });
    return;
  }

  detail::TileFn tile = nullptr;
  switch (isa) {
    case GemmIsa::kAvx512Bf16:  // on f32 weights: nothing to dot, the f32 tiles
    case GemmIsa::kAvx512:
      tile = detail::avx512_tile_fn(config.mr, config.np, w.storage());
      break;
    case GemmIsa::kAvx2:
      tile = detail::avx2_tile_fn(config.mr, config.np, w.storage());
      break;
    case GemmIsa::kScalar:
      tile = detail::scalar_tile_fn(config.mr, config.np, w.storage());
      break;
  }
  XY_CHECK(tile != nullptr);

  detail::run_task_table(pool, args.m, w.num_panels(), w.num_panels_padded(), config,
                         [&](int m0, int panel0, detail::RunPlace) { tile(p, m0, panel0); });
}

}  // namespace xy::cpu
