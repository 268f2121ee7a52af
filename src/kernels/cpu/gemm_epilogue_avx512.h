// The SmoothGEMM epilogue on AVX-512, shared by the dense (smooth_gemm_avx512.cpp) and the
// quantized (quant_gemm_avx512.cpp) micro-kernels: a finished register tile, stored in column
// order to out[MR][16 NP], gets + bias, + residual, or SiLU(gate)·up (the operation sequence of
// smooth_gemm_tiles.h, so every path and ISA writes the same bits) and only its valid rows and
// columns reach y. A tile wholly inside y skips the staging (store_full_tile): it is written from
// the registers, 16 lanes at a time, which took 2-6% off the gate-up GEMMs of the small models.
//
// Include only from files compiled with -mavx512f/bw/vl; internal linkage for the reason given
// in avx2_exp.h.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/avx2_exp.h"
#include "kernels/cpu/avx512_exp.h"
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

// bf16 panel lane order (lane 2j = column j, lane 2j+1 = column 8 + j; packed_weight.h) ->
// column order.
inline __m512 to_column_order(__m512 v) {
  const __m512i idx = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
  return _mm512_permutexvar_ps(idx, v);
}

// SiLU(gate)·up on 16 lanes: silu_mul's operation sequence lane for lane, so the same bits.
inline __m512 silu_mul16(__m512 gate, __m512 up) {
  const __m512 e = exp_poly16(_mm512_sub_ps(_mm512_setzero_ps(), gate));
  const __m512 silu = _mm512_div_ps(gate, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
  return _mm512_mul_ps(silu, up);
}

// True when the tile at (m0, panel0) lies wholly inside y: every row < m and every column
// < out_cols, so store_full_tile may write it without masks or staging.
template <int MR, int NP>
inline bool is_full_tile(const GemmProblem& p, int m0, int panel0) {
  const int cols_per_panel = p.gate_up ? 8 : 16;
  return m0 + MR <= p.m && (panel0 + NP) * cols_per_panel <= p.out_cols &&
         (!p.gate_up || NP % 2 == 0);
}

// The epilogue of store_tile for a full tile (is_full_tile), straight from the accumulator
// registers: no staging through memory, and SiLU(gate)·up 16 lanes at a time (two panels' 8
// gate and 8 up columns side by side, contiguous in y). kInterleaved: the accumulators hold
// their columns in bf16 panel order (lane 2j = column j, lane 2j+1 = column 8 + j), else in
// column order. Same operations per element as store_tile, so the same bits. Always inlined
// into the micro-kernel: the accumulators must stay in registers.
template <int MR, int NP, bool kInterleaved>
__attribute__((always_inline)) inline void store_full_tile(const GemmProblem& p, int m0, int panel0,
                                                           const __m512 (&acc)[MR][NP]) {
  if (!p.gate_up) {
    _Pragma("GCC unroll 32") for (int r = 0; r < MR; ++r) {
      float* y_row = p.y + static_cast<int64_t>(m0 + r) * p.ldy;
      const float* res =
          p.residual != nullptr ? p.residual + static_cast<int64_t>(m0 + r) * p.ldr : nullptr;
      _Pragma("GCC unroll 32") for (int q = 0; q < NP; ++q) {
        const int c = (panel0 + q) * 16;
        __m512 v = kInterleaved ? to_column_order(acc[r][q]) : acc[r][q];
        if (p.bias != nullptr) v = _mm512_add_ps(v, _mm512_loadu_ps(p.bias + c));
        if (res != nullptr) v = _mm512_add_ps(v, _mm512_loadu_ps(res + c));
        _mm512_storeu_ps(y_row + c, v);
      }
    }
    return;
  }
  // Gate columns of two panels side by side, then their up columns.
  const __m512i gate_idx =
      kInterleaved ? _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)
                   : _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
  const __m512i up_idx =
      kInterleaved
          ? _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31)
          : _mm512_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
  _Pragma("GCC unroll 32") for (int r = 0; r < MR; ++r) {
    float* y_row = p.y + static_cast<int64_t>(m0 + r) * p.ldy;
    _Pragma("GCC unroll 32") for (int q = 0; q + 1 < NP; q += 2) {
      const int c = (panel0 + q) * 8;
      __m512 gate = _mm512_permutex2var_ps(acc[r][q], gate_idx, acc[r][q + 1]);
      __m512 up = _mm512_permutex2var_ps(acc[r][q], up_idx, acc[r][q + 1]);
      if (p.bias != nullptr) gate = _mm512_add_ps(gate, _mm512_loadu_ps(p.bias + c));
      if (p.bias_up != nullptr) up = _mm512_add_ps(up, _mm512_loadu_ps(p.bias_up + c));
      _mm512_storeu_ps(y_row + c, silu_mul16(gate, up));
    }
  }
}

// A finished register tile to y through the epilogue: straight from the registers when the tile
// lies wholly inside y, else staged in column order for store_tile's masked stores. The one
// exit of every AVX-512 micro-kernel (dense f32/bf16 tiles, vdpbf16ps runs, QuantGEMM tiles).
template <int MR, int NP, bool kInterleaved>
__attribute__((always_inline)) inline void store_accumulators(const GemmProblem& p, int m0,
                                                              int panel0,
                                                              const __m512 (&acc)[MR][NP]) {
  if (is_full_tile<MR, NP>(p, m0, panel0)) {
    store_full_tile<MR, NP, kInterleaved>(p, m0, panel0, acc);
    return;
  }
  // Indexing the accumulators with store_tile's run-time row count would make the compiler keep
  // them in memory (and store them every k): they leave the registers here, once.
  alignas(64) float out[MR][NP * 16];
  _Pragma("GCC unroll 32") for (int r = 0; r < MR; ++r) {
    _Pragma("GCC unroll 32") for (int q = 0; q < NP; ++q) {
      _mm512_store_ps(&out[r][16 * q], kInterleaved ? to_column_order(acc[r][q]) : acc[r][q]);
    }
  }
  store_tile<MR, NP>(p, m0, panel0, out);
}

}  // namespace
}  // namespace xy::cpu::detail
