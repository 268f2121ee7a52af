#include "kernels/cpu/quant_gemm.h"

#include <algorithm>
#include <vector>

#include "core/check.h"
#include "core/cpu_features.h"
#include "kernels/cpu/gemm_task_table.h"
#include "kernels/cpu/quant_gemm_tiles.h"
#include "kernels/cpu/row_split.h"

namespace xy::cpu {

const char* quant_gemm_isa_name(QuantGemmIsa isa) {
  switch (isa) {
    case QuantGemmIsa::kAvx512Vnni:
      return "avx512vnni";
    case QuantGemmIsa::kAvx2:
      return "avx2";
    case QuantGemmIsa::kScalar:
      break;
  }
  return "scalar";
}

bool quant_gemm_isa_supported(QuantGemmIsa isa) {
  const CpuFeatures& f = cpu_features();
  switch (isa) {
    case QuantGemmIsa::kAvx512Vnni:
      return f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni && f.has_avx2_fma_f16c();
    case QuantGemmIsa::kAvx2:
      return f.has_avx2_fma_f16c();
    case QuantGemmIsa::kScalar:
      break;
  }
  return true;
}

QuantGemmIsa quant_gemm_isa_for(GemmIsa isa) {
  const bool avx512 = isa == GemmIsa::kAvx512 || isa == GemmIsa::kAvx512Bf16;
  if (avx512 && quant_gemm_isa_supported(QuantGemmIsa::kAvx512Vnni)) {
    return QuantGemmIsa::kAvx512Vnni;
  }
  if (isa != GemmIsa::kScalar && quant_gemm_isa_supported(QuantGemmIsa::kAvx2)) {
    return QuantGemmIsa::kAvx2;
  }
  return QuantGemmIsa::kScalar;
}

bool is_supported_quant_gemm_kernel(int mr, int np) {
  return std::any_of(kQuantGemmKernelShapes.begin(), kQuantGemmKernelShapes.end(),
                     [&](const std::array<int, 2>& s) { return s[0] == mr && s[1] == np; });
}

GemmTileConfig default_quant_gemm_config(int m, int k) {
  return default_quant_gemm_config(m, k, cpu_features().l2_cache_bytes);
}

GemmTileConfig default_quant_gemm_config(int m, int k, long l2_bytes) {
  GemmTileConfig c;
  if (m <= 2) {
    c.mr = m <= 1 ? 1 : 2;
    c.np = 4;
  } else {
    // 4 or 6 rows: fewer virtual (padded) rows wins, 6 on a tie (more reuse per weight load).
    const int waste6 = (m + 5) / 6 * 6 - m, waste4 = (m + 3) / 4 * 4 - m;
    c.mr = waste6 <= waste4 ? 6 : 4;
    c.np = 2;
  }
  // An m-block's activation codes (mr rows of k bytes each) stay in half of L2 while the block's
  // weight panels stream past them; every m-block streams all of the weights again, from DRAM
  // once they outgrow L3 (Q8_0 down_proj of a 1B model at M = 1024: 128 KiB blocks ran 1.07-1.3x
  // slower than 512 KiB on a 1 MiB L2). Unknown L2: 128 KiB, a quarter of the smallest current
  // server L2.
  const long block_bytes =
      l2_bytes > 0 ? std::clamp(l2_bytes / 2, 128L << 10, 1L << 20) : 128L << 10;
  c.m_block = static_cast<int>(std::max<long>(1, block_bytes / std::max(1, c.mr * k)));
  return c;
}

namespace detail {

QuantGemmProblem quant_gemm_problem(const QuantWeight& w, const GemmArgs& args,
                                    const QuantizedRows& a) {
  QuantGemmProblem p;
  p.out = gemm_problem(args, w.k(), w.layout(), w.out_cols(), w.data());
  p.panels = w.data();
  p.panel_bytes = w.panel_bytes();
  p.block_bytes = w.block_bytes();
  p.groups = w.num_groups();
  p.offset = w.has_min() ? 0 : w.code_offset();
  p.a = a;
  return p;
}

}  // namespace detail

void quant_gemm(const QuantWeight& w, const GemmArgs& args, WorkerPool& pool,
                std::optional<QuantGemmIsa> isa) {
  quant_gemm_with(w, args, pool, isa.value_or(quant_gemm_isa_for(default_gemm_isa())),
                  default_quant_gemm_config(args.m, w.k()));
}

void quant_gemm_with(const QuantWeight& w, const GemmArgs& args, WorkerPool& pool, QuantGemmIsa isa,
                     const GemmTileConfig& config) {
  XY_CHECK(args.m >= 0);
  if (args.m == 0) return;
  XY_CHECK_MSG(!w.empty(), "quant_gemm on an empty QuantWeight");
  XY_CHECK(args.x != nullptr && args.y != nullptr);
  XY_CHECK_MSG(quant_gemm_isa_supported(isa), "quant_gemm: ISA not supported by this CPU");
  XY_CHECK_MSG(is_supported_quant_gemm_kernel(config.mr, config.np) && config.m_block >= 1,
               "quant_gemm: no such micro-kernel");

  detail::QuantTileFn tile = nullptr;
  switch (isa) {
    case QuantGemmIsa::kAvx512Vnni:
      tile = detail::avx512_vnni_quant_tile_fn(config.mr, config.np, w.bits(), w.has_min());
      break;
    case QuantGemmIsa::kAvx2:
      tile = detail::avx2_quant_tile_fn(config.mr, config.np, w.bits(), w.has_min());
      break;
    case QuantGemmIsa::kScalar:
      tile = detail::scalar_quant_tile_fn(config.mr, config.np, w.bits(), w.has_min());
      break;
  }
  XY_CHECK(tile != nullptr);

  // x quantized once per call into per-thread buffers reused across calls. Plain pointers into
  // them go to the workers: inside a lambda the thread_local names would be each worker's own.
  thread_local std::vector<int8_t> codes;
  thread_local std::vector<float> scales, scaled_sums;
  thread_local std::vector<int32_t> sums, half_sums;
  const int m = args.m, k = w.k(), groups = w.num_groups();
  codes.resize(static_cast<size_t>(m) * k);
  scales.resize(static_cast<size_t>(m) * groups);
  scaled_sums.resize(scales.size());
  sums.resize(scales.size());
  half_sums.resize(scales.size());
  const detail::QuantizedRows a{
      codes.data(), k, scales.data(), sums.data(), scaled_sums.data(), half_sums.data(), groups};
  const detail::QuantGemmProblem p = detail::quant_gemm_problem(w, args, a);
  const float* x = p.out.x;
  const int64_t ldx = p.out.ldx;
  for_row_ranges(pool, m, /*min_rows=*/8, [&](int begin, int end) {
    const int64_t s0 = int64_t(begin) * a.lds;
    const detail::QuantizedRows part{a.q + int64_t(begin) * a.ldq,
                                     a.ldq,
                                     a.scale + s0,
                                     a.sum + s0,
                                     a.scaled_sum + s0,
                                     a.half_sum + s0,
                                     a.lds};
    if (isa == QuantGemmIsa::kAvx512Vnni) {
      detail::quantize_rows_avx512(x + begin * ldx, ldx, end - begin, k, part);
    } else {
      detail::quantize_rows_scalar(x + begin * ldx, ldx, end - begin, k, part);
    }
  });

  // 8-bit runs share the fetch of the next n-tile's panels among their first tiles: with one
  // byte per weight, memory at twice its pace in the last tile had been the limit (Q8_0 1.07x
  // at M = 16 / 64). The 4- and 6-bit tiles compute longer per byte and keep the fetch at the
  // end of the run, which measured even or better for them.
  const bool spread = w.bits() == 8;
  detail::run_task_table(pool, m, w.num_panels(), w.num_panels_padded(), config,
                         [&](int m0, int panel0, detail::RunPlace place) {
                           tile(p, m0, panel0,
                                spread ? detail::next_panels_spread(place, config.np)
                                       : detail::next_panels_at_end(place, config.np));
                         });
}

}  // namespace xy::cpu
