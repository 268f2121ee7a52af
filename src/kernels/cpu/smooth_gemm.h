// SmoothGEMM: y[M, N] = x[M, K] · W[N, K]ᵀ for every linear layer, M dynamic (1 … budget).
//
// - W is packed once at load (PackedWeight, f32 or bf16 storage) into 16-column panels.
// - A small fixed set of register-tile micro-kernels (kGemmKernelShapes) covers every M:
//   virtual padding runs the last partial m-tile at full size with the row pointers of
//   missing rows aliased to row M-1, and stores only rows < M. No padded copy of x is made and
//   nothing at or beyond row M of y is written.
// - The (m_tile, n_tile) grid, in the order GemmTileConfig::m_block defines, is cut into equal
//   contiguous slices, one per worker (the Task-Table), executed on a WorkerPool.
// - Batch invariance: every output element is accumulated as one FMA chain over k = 0..K-1
//   starting from +0, then the epilogue adds bias, then residual (or applies SiLU(gate)·up).
//   No split-K, no reassociation: y[r, :] is bit-identical whatever M, the tile row r lands in,
//   the config, the number of workers or the ISA path (scalar and AVX2 agree bitwise).
// - ISA: AVX-512 (f+bw+vl) when cpu_features() has it, else AVX2+FMA, else the portable scalar
//   path; XY_GEMM_ISA overrides (default_gemm_isa()). All three read the same packed panels
//   and agree bitwise (AVX-512 widens bf16 to f32 exactly and uses zmm FMAs). AVX-512 adds
//   wide register tiles (kGemmKernelShapesAvx512) on top of the portable set. vdpbf16ps
//   (pairwise products summed before accumulation, denormals flushed) would break that
//   agreement, so it is a mode of its own, GemmIsa::kAvx512Bf16 (the model's bf16 compute dtype,
//   model/weights.h ComputeDtype; XY_GEMM_ISA=avx512bf16 for the benchmarks):
//   x rounded to bf16 (nearest-even) once per call, pairs of exact bf16 products summed by
//   vdpbf16ps (denormals flushed), bf16-level error vs f32 activations (tested < 1e-2 rel-L2);
//   batch invariant within the mode (fixed pair order per element), not bitwise equal to the other
//   paths.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/worker_pool.h"
#include "kernels/cpu/gemm_tile_config.h"
#include "kernels/cpu/gemm_tune_table.h"
#include "kernels/cpu/packed_weight.h"

namespace xy::cpu {

// GemmIsa is declared in gemm_tile_config.h.
const char* gemm_isa_name(GemmIsa isa);  // "scalar", "avx2", "avx512", "avx512bf16"
// The fastest path this CPU supports: AVX-512 with avx512f+bw+vl, else AVX2 with
// avx2+fma+f16c, else scalar. Never kAvx512Bf16 (it changes numerics).
GemmIsa best_gemm_isa();
// The path smooth_gemm(), choose_gemm_config() and the tuner use by default: the environment
// variable XY_GEMM_ISA (scalar | avx2 | avx512 | avx512bf16) when set to a path this CPU supports,
// else best_gemm_isa(). An unknown or unsupported value is reported once on stderr and ignored.
// Read once per process (thread-safe).
GemmIsa default_gemm_isa();
bool gemm_isa_supported(GemmIsa isa);
// The ISA named `name` (as gemm_isa_name spells it), or nullopt.
std::optional<GemmIsa> gemm_isa_from_name(std::string_view name);

struct GemmArgs {
  int m = 0;                 // rows of x and y (tokens of the step); 0 is a no-op
  const float* x = nullptr;  // [m, K], row stride ldx floats (0 = K); must not alias y
  int64_t ldx = 0;
  float* y = nullptr;  // [m, out_cols], row stride ldy floats (0 = out_cols)
  int64_t ldy = 0;
  // [N] for plain weights; [2I] in the source row order (gate then up) for gate-up weights;
  // or null.
  const float* bias = nullptr;
  // [m, N] added after bias, row stride ldr floats (0 = N, or ldy when residual == y), or
  // null. May be y itself (in-place residual add, same stride); must not otherwise overlap y.
  // Plain weights only.
  const float* residual = nullptr;
  int64_t ldr = 0;
};

// Runs the GEMM on `pool` with the tuned config for (w's shape, args.m) from `tuned` when given
// (and measured on the same ISA), else default_gemm_config(), on `isa` (default:
// default_gemm_isa(); must be supported, XY_CHECK). Blocks until y is complete. Shape/pointer
// mismatches are programmer errors (XY_CHECK). Thread: the pool's caller thread.
void smooth_gemm(const PackedWeight& w, const GemmArgs& args, WorkerPool& pool,
                 const GemmTuneTable* tuned = nullptr, std::optional<GemmIsa> isa = std::nullopt);

// Same with an explicit ISA and config (tests, tuner, benchmarks). The ISA must be supported
// and the config's kernel must be one of the ISA's (gemm_kernel_shapes(isa); XY_CHECK).
void smooth_gemm_with(const PackedWeight& w, const GemmArgs& args, WorkerPool& pool, GemmIsa isa,
                      const GemmTileConfig& config);

// The config smooth_gemm() would use (a kernel of `isa`, default: default_gemm_isa()).
GemmTileConfig choose_gemm_config(const PackedWeight& w, int m, int num_workers,
                                  const GemmTuneTable* tuned,
                                  std::optional<GemmIsa> isa = std::nullopt);

}  // namespace xy::cpu
