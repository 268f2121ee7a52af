// The SmoothGEMM epilogue on AVX-512, shared by the dense (smooth_gemm_avx512.cpp) and the
// quantized (quant_gemm_avx512.cpp) micro-kernels: a finished register tile, stored in column
// order to out[MR][16 NP], gets + bias, + residual, or SiLU(gate)·up (the operation sequence of
// smooth_gemm_tiles.h, so every path and ISA writes the same bits) and only its valid rows and
// columns reach y.
//
// Include only from files compiled with -mavx512f/bw/vl; internal linkage for the reason given
// in avx2_exp.h.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/avx2_exp.h"
#include "kernels/cpu/smooth_gemm_tiles.h"

namespace xy::cpu::detail {
namespace {  // NOLINT(google-build-namespaces): see avx2_exp.h

// Mask of the first n (clamped to 0..16) lanes.
inline __mmask16 first_lanes16(int n) {
  return n >= 16 ? static_cast<__mmask16>(0xffff)
                 : static_cast<__mmask16>((1u << std::max(n, 0)) - 1u);
}

inline __mmask8 first_lanes8(int n) {
  return n >= 8 ? static_cast<__mmask8>(0xff) : static_cast<__mmask8>((1u << std::max(n, 0)) - 1u);
}

template <int MR, int NP>
void store_tile(const GemmProblem& p, int m0, int panel0, const float (&out)[MR][NP * 16]) {
  // Epilogue: only rows < m and columns < out_cols are touched (virtual padding); ragged
  // columns use k-masked loads and stores, so nothing outside y's valid part is read or written.
  const int valid_rows = std::min(MR, p.m - m0);
  for (int r = 0; r < valid_rows; ++r) {
    float* y_row = p.y + static_cast<int64_t>(m0 + r) * p.ldy;
    for (int q = 0; q < NP; ++q) {
      if (!p.gate_up) {
        const int c = (panel0 + q) * 16;
        const int left = p.out_cols - c;
        if (left <= 0) break;
        const __mmask16 mask = first_lanes16(left);
        __m512 v = _mm512_load_ps(&out[r][16 * q]);
        if (p.bias != nullptr) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, p.bias + c));
        if (p.residual != nullptr) {
          const float* res = p.residual + static_cast<int64_t>(m0 + r) * p.ldr + c;
          v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, res));
        }
        _mm512_mask_storeu_ps(y_row + c, mask, v);
      } else {
        const int c = (panel0 + q) * 8;
        const int left = p.out_cols - c;
        if (left <= 0) break;
        const __mmask8 mask = first_lanes8(left);
        __m256 gate = _mm256_load_ps(&out[r][16 * q]);
        __m256 up = _mm256_load_ps(&out[r][16 * q + 8]);
        if (p.bias != nullptr) gate = _mm256_add_ps(gate, _mm256_maskz_loadu_ps(mask, p.bias + c));
        if (p.bias_up != nullptr)
          up = _mm256_add_ps(up, _mm256_maskz_loadu_ps(mask, p.bias_up + c));
        _mm256_mask_storeu_ps(y_row + c, mask, silu_mul(gate, up));
      }
    }
  }
}

}  // namespace
}  // namespace xy::cpu::detail
