// The SmoothGEMM epilogue in portable C++, shared by the scalar dense and quantized micro-kernels:
// + bias, + residual, or SiLU(gate)·up with the operation sequence of smooth_gemm_tiles.h (the
// vector epilogues run the same sequence, so every path writes the same bits).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/cpu/smooth_gemm_tiles.h"

namespace xy::cpu::detail {
namespace {  // NOLINT(google-build-namespaces): internal linkage, as avx2_exp.h

inline float exp_poly(float x) {
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

inline float silu_mul(float gate, float up) {
  const float e = exp_poly(0.0f - gate);
  return (gate / (1.0f + e)) * up;
}

// Writes the valid rows (< m) and columns (< out_cols) of a finished tile: acc is [mr][16 np] in
// column order (gate lanes 0..7 and up lanes 8..15 of each panel for gate-up weights).
inline void store_tile_scalar(const GemmProblem& p, int m0, int panel0, int mr, int np,
                              const float* acc) {
  const int row_lanes = 16 * np;
  const int valid_rows = std::min(mr, p.m - m0);
  for (int r = 0; r < valid_rows; ++r) {
    float* y_row = p.y + static_cast<int64_t>(m0 + r) * p.ldy;
    for (int q = 0; q < np; ++q) {
      if (!p.gate_up) {
        const int c0 = (panel0 + q) * 16;
        const int n = std::min(16, p.out_cols - c0);
        for (int j = 0; j < n; ++j) {
          float v = acc[r * row_lanes + q * 16 + j];
          if (p.bias != nullptr) v = v + p.bias[c0 + j];
          if (p.residual != nullptr)
            v = v + p.residual[static_cast<int64_t>(m0 + r) * p.ldr + c0 + j];
          y_row[c0 + j] = v;
        }
      } else {
        const int c0 = (panel0 + q) * 8;
        const int n = std::min(8, p.out_cols - c0);
        for (int j = 0; j < n; ++j) {
          float g = acc[r * row_lanes + q * 16 + j], u = acc[r * row_lanes + q * 16 + 8 + j];
          if (p.bias != nullptr) g = g + p.bias[c0 + j];
          if (p.bias_up != nullptr) u = u + p.bias_up[c0 + j];
          y_row[c0 + j] = silu_mul(g, u);
        }
      }
    }
  }
}

}  // namespace
}  // namespace xy::cpu::detail
