// SmoothGEMM micro-kernels for AVX2 + FMA (compiled with -mavx2 -mfma -mf16c; only called
// after cpu_features() confirmed them). A tile keeps MR x (2*NP) ymm accumulators; per k it
// loads NP panel rows (bf16 widened in-register by a shift / an and), broadcasts MR values of x
// and issues MR*2*NP FMAs. Each accumulator lane is one FMA chain over k = 0..K-1.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/avx2_exp.h"
#include "kernels/cpu/smooth_gemm_tiles.h"

// Fully unrolls the loops over the register tile. Without it GCC keeps the accumulator array
// in memory and stores every accumulator at every k (3x slower); clang honours it too.
#define XY_UNROLL_TILE _Pragma("GCC unroll 16")

namespace xy::cpu::detail {

namespace {

// Mask with the first n (0..8) 32-bit lanes set.
inline __m256i first_lanes_mask(int n) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

inline __m256 load_cols(const float* p, int n) {
  return n >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, first_lanes_mask(n));
}

inline void store_cols(float* p, __m256 v, int n) {
  if (n >= 8) {
    _mm256_storeu_ps(p, v);
  } else {
    _mm256_maskstore_ps(p, first_lanes_mask(n), v);
  }
}

// Widens 16 bf16 (interleaved panel order, see packed_weight.h) to two vectors of 8 f32.
inline void widen_bf16(const uint16_t* src, __m256& lo, __m256& hi) {
  const __m256i w = _mm256_load_si256(reinterpret_cast<const __m256i*>(src));
  lo = _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
  hi = _mm256_castsi256_ps(_mm256_and_si256(w, _mm256_set1_epi32(static_cast<int>(0xffff0000u))));
}

// Software prefetch distance along a bf16 weight panel (32 k-steps).
// Measured ~10% faster at M = 4..16 on llama-3.2-1b gate_up, neutral at M = 1; on f32 panels it
// was slower at M = 1, so only the bf16 loop prefetches. Prefetches past a panel never fault.
constexpr uintptr_t kPrefetchBytes = 1024;

// Register budget (16 ymm): 6x16 and 1x64 keep all accumulators, panel vectors, the broadcast
// and the bf16 mask in registers; 3x32 needs 17 and spills one accumulator (an L1 round trip
// per k), which the tuner weighs like any other cost.

template <int MR, int NP, bool kBf16>
void tile(const GemmProblem& p, int m0, int panel0) {
  constexpr int NV = 2 * NP;  // ymm vectors per tile row
  const float* a[MR];
  XY_UNROLL_TILE
  for (int r = 0; r < MR; ++r) a[r] = p.x + static_cast<int64_t>(std::min(m0 + r, p.m - 1)) * p.ldx;
  const int kk = p.k;  // a local: a loop bound read through `p` every k defeats register allocation
  const size_t panel_elems = static_cast<size_t>(kk) * 16;

  __m256 acc[MR][NV];
  XY_UNROLL_TILE
  for (int r = 0; r < MR; ++r) {
    XY_UNROLL_TILE
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_setzero_ps();
  }

  if constexpr (kBf16) {
    const uint16_t* b[NP];
    XY_UNROLL_TILE
    for (int q = 0; q < NP; ++q)
      b[q] = static_cast<const uint16_t*>(p.panels) + (panel0 + q) * panel_elems;
    for (int k = 0; k < kk; ++k) {
      XY_UNROLL_TILE
      for (int q = 0; q < NP; ++q) {
        __m256 lo, hi;
        // Through uintptr_t: the address may lie past the panel, where a pointer may not point.
        _mm_prefetch(
            reinterpret_cast<const char*>(
                reinterpret_cast<uintptr_t>(b[q] + static_cast<size_t>(k) * 16) + kPrefetchBytes),
            _MM_HINT_T0);
        widen_bf16(b[q] + static_cast<size_t>(k) * 16, lo, hi);
        XY_UNROLL_TILE
        for (int r = 0; r < MR; ++r) {
          const __m256 av = _mm256_broadcast_ss(a[r] + k);
          acc[r][2 * q] = _mm256_fmadd_ps(av, lo, acc[r][2 * q]);
          acc[r][2 * q + 1] = _mm256_fmadd_ps(av, hi, acc[r][2 * q + 1]);
        }
      }
    }
  } else {
    const float* b[NP];
    XY_UNROLL_TILE
    for (int q = 0; q < NP; ++q)
      b[q] = static_cast<const float*>(p.panels) + (panel0 + q) * panel_elems;
    for (int k = 0; k < kk; ++k) {
      XY_UNROLL_TILE
      for (int q = 0; q < NP; ++q) {
        const __m256 lo = _mm256_load_ps(b[q] + static_cast<size_t>(k) * 16);
        const __m256 hi = _mm256_load_ps(b[q] + static_cast<size_t>(k) * 16 + 8);
        XY_UNROLL_TILE
        for (int r = 0; r < MR; ++r) {
          const __m256 av = _mm256_broadcast_ss(a[r] + k);
          acc[r][2 * q] = _mm256_fmadd_ps(av, lo, acc[r][2 * q]);
          acc[r][2 * q + 1] = _mm256_fmadd_ps(av, hi, acc[r][2 * q + 1]);
        }
      }
    }
  }

  // The accumulators leave registers once, here: indexing them with the run-time row count
  // below would make the compiler keep them in memory (and store them every k).
  alignas(32) float out[MR][NV * 8];
  XY_UNROLL_TILE
  for (int r = 0; r < MR; ++r) {
    XY_UNROLL_TILE
    for (int v = 0; v < NV; ++v) _mm256_store_ps(&out[r][v * 8], acc[r][v]);
  }

  // Epilogue: only rows < m and columns < out_cols are touched (virtual padding).
  const int valid_rows = std::min(MR, p.m - m0);
  for (int r = 0; r < valid_rows; ++r) {
    float* y_row = p.y + static_cast<int64_t>(m0 + r) * p.ldy;
    for (int q = 0; q < NP; ++q) {
      __m256 lo = _mm256_load_ps(&out[r][16 * q]), hi = _mm256_load_ps(&out[r][16 * q + 8]);
      if (!p.gate_up) {
        const int c = (panel0 + q) * 16;
        const int left = p.out_cols - c;
        if (left <= 0) break;
        const int n_lo = std::min(left, 8), n_hi = left - 8;
        if (p.bias != nullptr) {
          lo = _mm256_add_ps(lo, load_cols(p.bias + c, n_lo));
          if (n_hi > 0) hi = _mm256_add_ps(hi, load_cols(p.bias + c + 8, n_hi));
        }
        if (p.residual != nullptr) {
          const float* res = p.residual + static_cast<int64_t>(m0 + r) * p.ldr + c;
          lo = _mm256_add_ps(lo, load_cols(res, n_lo));
          if (n_hi > 0) hi = _mm256_add_ps(hi, load_cols(res + 8, n_hi));
        }
        store_cols(y_row + c, lo, n_lo);
        if (n_hi > 0) store_cols(y_row + c + 8, hi, n_hi);
      } else {
        const int c = (panel0 + q) * 8;
        const int left = p.out_cols - c;
        if (left <= 0) break;
        if (p.bias != nullptr) lo = _mm256_add_ps(lo, load_cols(p.bias + c, left));
        if (p.bias_up != nullptr) hi = _mm256_add_ps(hi, load_cols(p.bias_up + c, left));
        store_cols(y_row + c, silu_mul(lo, hi), left);
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

TileFn avx2_tile_fn(int mr, int np, DType storage) {
  if (storage == DType::kBF16) return pick<true>(mr, np);
  if (storage == DType::kF32) return pick<false>(mr, np);
  return nullptr;
}

}  // namespace xy::cpu::detail
