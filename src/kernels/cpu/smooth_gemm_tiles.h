// Internal interface between the SmoothGEMM driver (smooth_gemm.cpp) and the per-ISA
// micro-kernel files (smooth_gemm_scalar.cpp, smooth_gemm_avx2.cpp, smooth_gemm_avx512.cpp). Not
// for use outside src/kernels/cpu.
#pragma once

#include <cstdint>

#include "core/dtype.h"
#include "kernels/cpu/packed_weight.h"

namespace xy::cpu {
struct GemmArgs;  // smooth_gemm.h
}

namespace xy::cpu::detail {

// One SmoothGEMM call, fixed for all its tiles.
struct GemmProblem {
  const float* x = nullptr;  // [m, k], row stride ldx (floats)
  int64_t ldx = 0;
  int m = 0;
  int k = 0;
  const void* panels = nullptr;  // [num_panels_padded, k, 16] packed weight (storage dtype)
  bool gate_up = false;          // panel lanes 0..7 gate, 8..15 up (WeightLayout::kGateUp)
  int out_cols = 0;              // columns of y: N (plain) or I (gate-up)
  float* y = nullptr;            // [m, out_cols], row stride ldy
  int64_t ldy = 0;
  const float* bias = nullptr;      // [out_cols] (gate bias for gate-up) or null
  const float* bias_up = nullptr;   // [out_cols] up bias (gate-up only) or null
  const float* residual = nullptr;  // [m, out_cols], row stride ldr, or null (plain only)
  int64_t ldr = 0;
  // GemmIsa::kAvx512Bf16 only: x rounded to bf16, [m, ceil(k/2)] pairs (k even in the low
  // half, k odd in the high half; an odd k's last pair has a zero high half), row stride
  // ldx_bf16 (pairs; padded so that rows do not all fall in one L1 set, see bf16_pair_stride).
  const uint32_t* x_bf16 = nullptr;
  int64_t ldx_bf16 = 0;
  // GemmIsa::kAvx512Bf16 only: the k-block in pairs (GemmTileConfig::kc / 2; 0 = all of K).
  int kc_pairs = 0;
};

// The problem of `args` over a packed weight of inner size k, layout and out_cols whose panels
// start at `panels`: strides defaulted, bias split for gate-up weights, and the argument rules
// of smooth_gemm.h checked (XY_CHECK).
GemmProblem gemm_problem(const GemmArgs& args, int k, WeightLayout layout, int out_cols,
                         const void* panels);

// Computes rows [m0, m0 + MR) x panels [panel0, panel0 + NP) and writes the valid part of it
// through the epilogue. Rows >= m read row m-1 (virtual padding) and are never stored; columns
// >= out_cols are computed from zero padding and never stored.
using TileFn = void (*)(const GemmProblem& problem, int m0, int panel0);
// Computes m_tiles consecutive tiles, rows [m0, m0 + m_tiles * MR), over the same panels:
// the kernels that block k (problem.kc_pairs) share each k-block of the panels across the run.
using RunFn = void (*)(const GemmProblem& problem, int m0, int m_tiles, int panel0);

// nullptr when (mr, np) is not in the ISA's kernel set (gemm_kernel_shapes) or storage is not
// f32/bf16.
TileFn scalar_tile_fn(int mr, int np, DType storage);
TileFn avx2_tile_fn(int mr, int np, DType storage);
TileFn avx512_tile_fn(int mr, int np, DType storage);
// The vdpbf16ps runs over bf16 panels (read problem.x_bf16, block k by problem.kc_pairs);
// nullptr for other storage (bf16 mode on f32 weights runs the f32 AVX-512 tiles).
RunFn avx512_bf16_dot_run_fn(int mr, int np, DType storage);
// The row stride, in pairs, of x rounded to bf16 pairs for k columns: ceil(k/2) rounded up to a
// cache line, plus one line when that is a multiple of 4 KiB. At K = 2048 or 8192 the rows of a
// tile would otherwise sit 4 KiB apart, all in the same L1 set (more rows than ways).
int64_t bf16_pair_stride(int k);
// Rounds x[m, k] (row stride ldx) to bf16 pairs for the vdpbf16ps tiles (see x_bf16); out has
// row stride ld_out >= ceil(k/2). Needs avx512f+bw+bf16.
void avx512_convert_x_bf16(const float* x, int64_t ldx, int m, int k, uint32_t* out,
                           int64_t ld_out);

}  // namespace xy::cpu::detail

namespace xy::cpu::detail {

// SiLU(g) = g / (1 + exp(-g)) in the gate/up epilogue, with exp as a Cephes-style polynomial.
// Every ISA evaluates exactly this operation sequence (clamp, x*log2e, round-to-nearest-even,
// two FMA range reductions, FMA Horner, r*r, FMA, +1, scale by 2^n, divide), so all paths give
// bit-identical results. Accuracy: ~2 ulp of exp.
inline constexpr float kExpClampLo = -87.3f;
inline constexpr float kExpClampHi = 88.3f;
inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2Hi = 0.693359375f;
inline constexpr float kLn2Lo = -2.12194440e-4f;
inline constexpr float kExpPoly[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                      4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};

}  // namespace xy::cpu::detail
