// Portable SmoothGEMM micro-kernels (baseline x86-64, no vector ISA assumed): the fallback for
// CPUs without AVX2+FMA, and the bitwise oracle the AVX2 path is tested against. Same tiles and
// same arithmetic as smooth_gemm_avx2.cpp: per output element one fused multiply-add chain over
// k = 0..K-1 (std::fma: correctly rounded even without hardware FMA, just slower), then
// + bias, + residual, or the SiLU(gate)·up sequence of smooth_gemm_tiles.h.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/cpu/packed_weight.h"
#include "kernels/cpu/smooth_gemm_tiles.h"

namespace xy::cpu::detail {

namespace {

float exp_poly(float x) {
  x = std::min(std::max(x, kExpClampLo), kExpClampHi);
  const float n = std::nearbyint(x * kLog2e);
  float r = std::fma(n, -kLn2Hi, x);
  r = std::fma(n, -kLn2Lo, r);
  float p = kExpPoly[0];
  for (int i = 1; i < 6; ++i) p = std::fma(p, r, kExpPoly[i]);
  p = std::fma(p, r * r, r);
  p = p + 1.0f;
  const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  return p * scale;
}

float silu_mul(float gate, float up) {
  const float e = exp_poly(0.0f - gate);
  return (gate / (1.0f + e)) * up;
}

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

  const int valid_rows = std::min(MR, p.m - m0);
  for (int r = 0; r < valid_rows; ++r) {
    float* y_row = p.y + static_cast<int64_t>(m0 + r) * p.ldy;
    for (int q = 0; q < NP; ++q) {
      if (!p.gate_up) {
        const int c0 = (panel0 + q) * 16;
        const int n = std::min(16, p.out_cols - c0);
        for (int j = 0; j < n; ++j) {
          float v = acc[r][q * 16 + j];
          if (p.bias != nullptr) v = v + p.bias[c0 + j];
          if (p.residual != nullptr)
            v = v + p.residual[static_cast<int64_t>(m0 + r) * p.ldr + c0 + j];
          y_row[c0 + j] = v;
        }
      } else {
        const int c0 = (panel0 + q) * 8;
        const int n = std::min(8, p.out_cols - c0);
        for (int j = 0; j < n; ++j) {
          float g = acc[r][q * 16 + j], u = acc[r][q * 16 + 8 + j];
          if (p.bias != nullptr) g = g + p.bias[c0 + j];
          if (p.bias_up != nullptr) u = u + p.bias_up[c0 + j];
          y_row[c0 + j] = silu_mul(g, u);
        }
      }
    }
  }
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
