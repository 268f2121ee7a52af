// Portable SmoothGEMM micro-kernels (baseline x86-64, no vector ISA assumed): the fallback for
// CPUs without AVX2+FMA, and the bitwise oracle the AVX2 path is tested against. Same tiles and
// same arithmetic as smooth_gemm_avx2.cpp: per output element one fused multiply-add chain over
// k = 0..K-1 (std::fma: correctly rounded even without hardware FMA, just slower), then
// + bias, + residual, or the SiLU(gate)·up sequence of smooth_gemm_tiles.h.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/cpu/gemm_epilogue_scalar.h"
#include "kernels/cpu/packed_weight.h"
#include "kernels/cpu/smooth_gemm_tiles.h"

namespace xy::cpu::detail {

namespace {

template <int MR, int NP, bool kBf16>
void tile(const GemmProblem& p, int m0, int panel0) {
  constexpr int NC = 16 * NP;  // logical lanes per tile row
  const float* a[MR];
  for (int r = 0; r < MR; ++r) a[r] = p.x + static_cast<int64_t>(std::min(m0 + r, p.m - 1)) * p.ldx;
  const size_t panel_elems = static_cast<size_t>(p.k) * 16;

  float acc[MR][NC] = {};
  float w[NC];  // the tile's weights at one k, in logical lane order
  for (int k = 0; k < p.k; ++k) {
    for (int q = 0; q < NP; ++q) {
      const size_t base = (panel0 + q) * panel_elems + static_cast<size_t>(k) * 16;
      for (int lane = 0; lane < 16; ++lane) {
        if constexpr (kBf16) {
          w[q * 16 + lane] =
              bf16_to_f32(static_cast<const bf16*>(p.panels)[base + bf16_panel_position(lane)]);
        } else {
          w[q * 16 + lane] = static_cast<const float*>(p.panels)[base + lane];
        }
      }
    }
    for (int r = 0; r < MR; ++r) {
      const float av = a[r][k];
      for (int c = 0; c < NC; ++c) acc[r][c] = std::fma(av, w[c], acc[r][c]);
    }
  }

  store_tile_scalar(p, m0, panel0, MR, NP, &acc[0][0]);
}

template <bool kBf16>
TileFn pick(int mr, int np) {
  switch (mr * 8 + np) {
    case 1 * 8 + 2:
      return &tile<1, 2, kBf16>;
    case 1 * 8 + 4:
      return &tile<1, 4, kBf16>;
    case 2 * 8 + 2:
      return &tile<2, 2, kBf16>;
    case 3 * 8 + 2:
      return &tile<3, 2, kBf16>;
    case 4 * 8 + 1:
      return &tile<4, 1, kBf16>;
    case 6 * 8 + 1:
      return &tile<6, 1, kBf16>;
    default:
      return nullptr;
  }
}

}  // namespace

TileFn scalar_tile_fn(int mr, int np, DType storage) {
  if (storage == DType::kBF16) return pick<true>(mr, np);
  if (storage == DType::kF32) return pick<false>(mr, np);
  return nullptr;
}

}  // namespace xy::cpu::detail
