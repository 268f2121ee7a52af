// QuantGEMM: y[M, N] = x[M, K] · W[N, K]ᵀ for a QuantWeight (integer codes with per-32 scales,
// quant_weight.h), the integer twin of SmoothGEMM (smooth_gemm.h) with the same arguments,
// epilogues (bias, residual, SiLU(gate)·up), virtual padding and Task-Table.
//
// - Activations are quantized per row and per 32 k (like the weights): s = max|x| / 127,
//   q = round-to-nearest-even(x · (127 / max|x|)), so row r's codes and scales depend on row r
//   alone. Error: at most half a step of 1/127 of each group's largest |x|.
// - Per (row, column, group) the integer dot product Σ c·q is exact (vpdpbusd: u8 weight codes x
//   s8 activation codes, 32-bit sums; a symmetric weight's offset enters as -offset·Σq in the
//   start value), then one f32 step per group, in k order from +0:
//       acc = fma(float(Σ c·q - offset·Σq), d·s, acc)                       (symmetric)
//       acc = fma(float(Σ c·q), d·s, acc);  acc = fma(-m, s·Σq, acc)         (with a minimum)
//       acc = fma(float(sc₀·Σ₀ + sc₁·Σ₁), d·s, acc)                           (6-bit, Q6_K)
//   where Σₕ = Σ (c - 32)·q over the group's 16-k half h and sc its int8 sub-scale: integer
//   arithmetic, and |sc₀·Σ₀ + sc₁·Σ₁| < 2^24, so the conversion is exact as well.
//   So, as in SmoothGEMM, a row's result is bit-identical whatever M, the tile, the config, the
//   number of workers, or the ISA path (the scalar path runs the same operation sequence).
// - ISAs: AVX-512 VNNI (vpdpbusd on zmm) when the CPU has avx512f+bw+vl+vnni; AVX2 (vpmaddubsw
//   on nibbles, exact) on AVX2+FMA CPUs; else the portable scalar path (see quant_gemm_isa_for).
#pragma once

#include <array>
#include <optional>
#include <span>

#include "core/worker_pool.h"
#include "kernels/cpu/gemm_tile_config.h"
#include "kernels/cpu/quant_weight.h"
#include "kernels/cpu/smooth_gemm.h"

namespace xy::cpu {

enum class QuantGemmIsa : uint8_t { kScalar, kAvx2, kAvx512Vnni };

const char* quant_gemm_isa_name(QuantGemmIsa isa);  // "scalar", "avx2", "avx512vnni"
bool quant_gemm_isa_supported(QuantGemmIsa isa);
// The quantized path that goes with the dense GEMM ISA `isa`: AVX-512 VNNI for the AVX-512 modes
// when the CPU has VNNI, else AVX2 unless `isa` is scalar, else scalar.
QuantGemmIsa quant_gemm_isa_for(GemmIsa isa);

// The register tiles (mr x np panels) QuantGEMM implements, on every ISA.
inline constexpr std::array<std::array<int, 2>, 4> kQuantGemmKernelShapes = {
    {{1, 4}, {2, 4}, {4, 2}, {6, 2}}};
bool is_supported_quant_gemm_kernel(int mr, int np);

// The tile for m rows: the tallest that wastes fewest virtual rows, m-blocks of activations that
// fill half of this CPU's L2 (cpu_features().l2_cache_bytes; l2_bytes 0 = unknown: 128 KiB).
GemmTileConfig default_quant_gemm_config(int m, int k);
GemmTileConfig default_quant_gemm_config(int m, int k, long l2_bytes);

// Runs the GEMM on `pool` (default ISA: quant_gemm_isa_for(default_gemm_isa()), which must be
// supported). Blocks until y is complete. Argument rules as smooth_gemm (XY_CHECK).
void quant_gemm(const QuantWeight& w, const GemmArgs& args, WorkerPool& pool,
                std::optional<QuantGemmIsa> isa = std::nullopt);
// With an explicit ISA and config (tests, benchmarks); the config's tile must be one of
// kQuantGemmKernelShapes.
void quant_gemm_with(const QuantWeight& w, const GemmArgs& args, WorkerPool& pool, QuantGemmIsa isa,
                     const GemmTileConfig& config);

}  // namespace xy::cpu
