// SmoothGEMM micro-kernels for AVX-512 (compiled with -mavx512f/bw/vl/bf16 -mfma; only called
// after cpu_features() confirmed avx512f+bw+vl). They read the same packed panels as the AVX2
// and scalar paths: one 16-column panel row is exactly one zmm, so a tile keeps MR x NP zmm
// accumulators (32 registers: up to 28 accumulators + NP panel vectors + one broadcast).
//
// Numerics are those of the other paths, bit for bit: each accumulator lane is one FMA chain
// over k = 0..K-1 from +0, bf16 is widened to f32 exactly (a 16-bit shift), and the epilogue
// runs the same operation sequence (+bias, +residual, or SiLU(gate)·up of smooth_gemm_tiles.h).
//
// bf16 panel rows are stored lane-interleaved (0,8,1,9,...; packed_weight.h) for the AVX2
// widening trick. Here a row is zero-extended 16 -> 32 bits (vpmovzxwd) and shifted, which
// leaves the lanes in that interleaved order; the accumulators stay interleaved through the
// k-loop (a lane's column does not matter to its FMA chain) and are permuted back to column
// order once, in the epilogue.
// GCC 12's AVX-512 intrinsics (vpmovzxwd, vpslld, vpermps) pass _mm512_undefined_*() as the
// unused merge source, which -Wuninitialized flags once inlined (a known false positive).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "kernels/cpu/gemm_epilogue_avx512.h"
#include "kernels/cpu/gemm_next_panels.h"
#include "kernels/cpu/packed_weight.h"
#include "kernels/cpu/smooth_gemm_tiles.h"

// Fully unrolls the loops over the register tile so the accumulators live in registers.
#define XY_UNROLL_TILE _Pragma("GCC unroll 32")
#define XY_ALWAYS_INLINE __attribute__((always_inline))

namespace xy::cpu::detail {

namespace {

// 16 bf16 of one panel row (interleaved order) -> 16 f32 in the same interleaved order.
inline __m512 widen_bf16(const uint16_t* src) {
  const __m256i w = _mm256_load_si256(reinterpret_cast<const __m256i*>(src));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(w), 16));
}

// Software prefetch distance along a bf16 weight panel (as the AVX2 path: 32 k-steps).
constexpr uintptr_t kPrefetchBytes = 1024;

// How a tile reads its operands.
enum class Mode { kF32, kBf16Widen, kBf16Dot };

// Word 2d of the result is word d of row k, word 2d+1 is word d of row k+1: lane d then holds
// the (k, k+1) pair of interleaved position d.
inline __m512i pair_index() {
  return _mm512_setr_epi32(0 | (16 << 16), 1 | (17 << 16), 2 | (18 << 16), 3 | (19 << 16),
                           4 | (20 << 16), 5 | (21 << 16), 6 | (22 << 16), 7 | (23 << 16),
                           8 | (24 << 16), 9 | (25 << 16), 10 | (26 << 16), 11 | (27 << 16),
                           12 | (28 << 16), 13 | (29 << 16), 14 | (30 << 16), 15 | (31 << 16));
}

// acc[r][q] += the pairs kp0 .. kp1-1 of x row a[r] · panel b[q], one vdpbf16ps per pair, then
// (odd_tail) the last pair of an odd K, whose row k+1 the panel does not have. Each step
// prefetches the panel line 2 KiB ahead into L1, and the same pair's line of each of the
// kNext panels `next` into L2.
template <int MR, int NP, int kNext = 0>
XY_ALWAYS_INLINE inline void dot_pairs(const uint32_t* const (&a)[MR],
                                       const uint16_t* const (&b)[NP], int kp0, int kp1,
                                       bool odd_tail, __m512 (&acc)[MR][NP],
                                       const uint16_t* const* next = nullptr) {
  const __m512i pair_idx = pair_index();
  auto step = [&](int kp, bool last_odd) XY_ALWAYS_INLINE {
    XY_UNROLL_TILE
    for (int j = 0; j < kNext; ++j) {
      _mm_prefetch(reinterpret_cast<const char*>(next[j] + static_cast<size_t>(kp) * 32),
                   _MM_HINT_T1);
    }
    __m512i w[NP];
    XY_UNROLL_TILE
    for (int q = 0; q < NP; ++q) {
      const uint16_t* row = b[q] + static_cast<size_t>(kp) * 32;
      _mm_prefetch(reinterpret_cast<const char*>(row) + 2 * kPrefetchBytes, _MM_HINT_T0);
      const __m512i raw =
          last_odd ? _mm512_maskz_loadu_epi16(0xffffu, row) : _mm512_loadu_si512(row);
      w[q] = _mm512_permutexvar_epi16(pair_idx, raw);
    }
    XY_UNROLL_TILE
    for (int r = 0; r < MR; ++r) {
      const __m512i av = _mm512_set1_epi32(static_cast<int>(a[r][kp]));
      XY_UNROLL_TILE
      for (int q = 0; q < NP; ++q)
        acc[r][q] = _mm512_dpbf16_ps(acc[r][q], (__m512bh)av, (__m512bh)w[q]);
    }
  };
  for (int kp = kp0; kp < kp1; ++kp) step(kp, false);
  if (odd_tail) step(kp1, true);
}

// One zmm of accumulators parked in memory.
struct alignas(64) Parked {
  float lanes[16];
};

// This thread's parking space for n zmm, shared by every kernel shape (grows, never shrinks).
Parked* parked_zmm(size_t n) {
  thread_local std::vector<Parked> parked;
  if (parked.size() < n) parked.resize(n);
  return parked.data();
}

// vdpbf16ps run: x comes pre-rounded as bf16 pairs (p.x_bf16), weights as bf16 panels. With a
// k-block (p.kc_pairs) shorter than K, the run's tiles take turns per k-block and park their
// accumulators in a per-thread buffer in between: f32 stores and loads, exact, so every
// element is the same vdpbf16ps chain over the pairs in order as without blocking.
template <int MR, int NP>
void dot_run(const GemmProblem& p, int m0, int m_tiles, int panel0) {
  static_assert(MR * NP + NP + 1 <= 32, "register tile exceeds the 32 zmm registers");
  static_assert(NP <= 4, "a run of two tiles fetches at most two of the next panels each");
  const int full_pairs = p.k / 2;
  const bool odd = p.k % 2 != 0;
  const int pairs = full_pairs + (odd ? 1 : 0);
  const int kc = (p.kc_pairs > 0 && p.kc_pairs < pairs) ? p.kc_pairs : pairs;
  const size_t panel_elems = static_cast<size_t>(p.k) * 16;
  const uint16_t* b[NP];
  XY_UNROLL_TILE
  for (int q = 0; q < NP; ++q)
    b[q] = static_cast<const uint16_t*>(p.panels) + (panel0 + q) * panel_elems;

  // Parked accumulators of the run's tiles between k-blocks (unused without k-blocking).
  Parked* parked = kc < pairs ? parked_zmm(static_cast<size_t>(m_tiles) * MR * NP) : nullptr;

  for (int kb0 = 0; kb0 < pairs; kb0 += kc) {
    const bool first = kb0 == 0;
    const bool last = kb0 + kc >= pairs;
    const int kb1 = last ? full_pairs : kb0 + kc;  // full pairs of this block
    for (int t = 0; t < m_tiles; ++t) {
      const int tile_m0 = m0 + t * MR;
      const uint32_t* a[MR];
      XY_UNROLL_TILE
      for (int r = 0; r < MR; ++r)
        a[r] = p.x_bf16 + static_cast<int64_t>(std::min(tile_m0 + r, p.m - 1)) * p.ldx_bf16;
      Parked* park = parked + static_cast<size_t>(t) * MR * NP;
      __m512 acc[MR][NP];
      XY_UNROLL_TILE
      for (int r = 0; r < MR; ++r) {
        XY_UNROLL_TILE
        for (int q = 0; q < NP; ++q)
          acc[r][q] = first ? _mm512_setzero_ps() : _mm512_load_ps(park[r * NP + q].lanes);
      }
      // Without k-blocking, the run's tiles share the fetching of the next n-tile's panels
      // (gemm_next_panels.h: one or, when the run is shorter than NP, two per tile). Before, the
      // run's last tile fetched them all, at twice the pace memory can sustain on two cores.
      const uint32_t fetch = kc == pairs ? next_panels_spread({t, m_tiles}, NP) : 0;
      const uint16_t* next[NP];
      int n_next = 0;
      XY_UNROLL_TILE
      for (int q = 0; q < NP; ++q) {
        if (fetch >> q & 1) next[n_next++] = b[q] + NP * panel_elems;
      }
      if (n_next == 1) {
        dot_pairs<MR, NP, 1>(a, b, kb0, kb1, last && odd, acc, next);
      } else if (n_next >= 2) {  // a run of 2 or 3 tiles over 4 panels
        dot_pairs<MR, NP, 2>(a, b, kb0, kb1, last && odd, acc, next);
      } else {
        dot_pairs<MR, NP>(a, b, kb0, kb1, last && odd, acc);
      }
      if (!last) {
        XY_UNROLL_TILE
        for (int r = 0; r < MR; ++r) {
          XY_UNROLL_TILE
          for (int q = 0; q < NP; ++q) _mm512_store_ps(park[r * NP + q].lanes, acc[r][q]);
        }
        continue;
      }
      store_accumulators<MR, NP, /*kInterleaved=*/true>(p, tile_m0, panel0, acc);
    }
  }
}

template <int MR, int NP, bool kBf16>
void tile(const GemmProblem& p, int m0, int panel0) {
  static_assert(MR * NP + NP + 1 <= 32, "register tile exceeds the 32 zmm registers");
  const float* a[MR];
  XY_UNROLL_TILE
  for (int r = 0; r < MR; ++r) a[r] = p.x + static_cast<int64_t>(std::min(m0 + r, p.m - 1)) * p.ldx;
  const int kk = p.k;  // a local: a loop bound read through `p` every k defeats register allocation
  const size_t panel_elems = static_cast<size_t>(kk) * 16;

  __m512 acc[MR][NP];
  XY_UNROLL_TILE
  for (int r = 0; r < MR; ++r) {
    XY_UNROLL_TILE
    for (int q = 0; q < NP; ++q) acc[r][q] = _mm512_setzero_ps();
  }

  if constexpr (kBf16) {
    const uint16_t* b[NP];
    XY_UNROLL_TILE
    for (int q = 0; q < NP; ++q)
      b[q] = static_cast<const uint16_t*>(p.panels) + (panel0 + q) * panel_elems;
    for (int k = 0; k < kk; ++k) {
      __m512 w[NP];
      XY_UNROLL_TILE
      for (int q = 0; q < NP; ++q) {
        // Through uintptr_t: the address may lie past the panel, where a pointer may not point.
        _mm_prefetch(
            reinterpret_cast<const char*>(
                reinterpret_cast<uintptr_t>(b[q] + static_cast<size_t>(k) * 16) + kPrefetchBytes),
            _MM_HINT_T0);
        w[q] = widen_bf16(b[q] + static_cast<size_t>(k) * 16);
      }
      XY_UNROLL_TILE
      for (int r = 0; r < MR; ++r) {
        const __m512 av = _mm512_set1_ps(a[r][k]);
        XY_UNROLL_TILE
        for (int q = 0; q < NP; ++q) acc[r][q] = _mm512_fmadd_ps(av, w[q], acc[r][q]);
      }
    }
  } else {
    const float* b[NP];
    XY_UNROLL_TILE
    for (int q = 0; q < NP; ++q)
      b[q] = static_cast<const float*>(p.panels) + (panel0 + q) * panel_elems;
    for (int k = 0; k < kk; ++k) {
      __m512 w[NP];
      XY_UNROLL_TILE
      for (int q = 0; q < NP; ++q) w[q] = _mm512_loadu_ps(b[q] + static_cast<size_t>(k) * 16);
      XY_UNROLL_TILE
      for (int r = 0; r < MR; ++r) {
        const __m512 av = _mm512_set1_ps(a[r][k]);
        XY_UNROLL_TILE
        for (int q = 0; q < NP; ++q) acc[r][q] = _mm512_fmadd_ps(av, w[q], acc[r][q]);
      }
    }
  }

  // bf16 panels hold their columns in interleaved lane order, and so do the accumulators.
  store_accumulators<MR, NP, kBf16>(p, m0, panel0, acc);
}

// The kernel of (mr, np) for one mode: a TileFn, or for kBf16Dot a RunFn.
template <int MR, int NP, Mode kMode>
constexpr auto tile_of() {
  if constexpr (kMode == Mode::kBf16Dot)
    return &dot_run<MR, NP>;
  else
    return &tile<MR, NP, kMode == Mode::kBf16Widen>;
}

template <Mode kMode, class Fn = std::conditional_t<kMode == Mode::kBf16Dot, RunFn, TileFn>>
Fn pick(int mr, int np) {
  switch (mr * 8 + np) {
    // The portable set (kGemmKernelShapes), so any config works on every ISA.
    case 1 * 8 + 2:
      return tile_of<1, 2, kMode>();
    case 1 * 8 + 4:
      return tile_of<1, 4, kMode>();
    case 2 * 8 + 2:
      return tile_of<2, 2, kMode>();
    case 3 * 8 + 2:
      return tile_of<3, 2, kMode>();
    case 4 * 8 + 1:
      return tile_of<4, 1, kMode>();
    case 6 * 8 + 1:
      return tile_of<6, 1, kMode>();
    // The wide tiles only 32 registers can hold (kGemmKernelShapesAvx512).
    case 2 * 8 + 4:
      return tile_of<2, 4, kMode>();
    case 4 * 8 + 4:
      return tile_of<4, 4, kMode>();
    case 6 * 8 + 4:
      return tile_of<6, 4, kMode>();
    case 8 * 8 + 2:
      return tile_of<8, 2, kMode>();
    case 12 * 8 + 2:
      return tile_of<12, 2, kMode>();
    case 14 * 8 + 2:
      return tile_of<14, 2, kMode>();
    default:
      return nullptr;
  }
}

}  // namespace

TileFn avx512_tile_fn(int mr, int np, DType storage) {
  if (storage == DType::kBF16) return pick<Mode::kBf16Widen>(mr, np);
  if (storage == DType::kF32) return pick<Mode::kF32>(mr, np);
  return nullptr;
}

RunFn avx512_bf16_dot_run_fn(int mr, int np, DType storage) {
  return storage == DType::kBF16 ? pick<Mode::kBf16Dot>(mr, np) : nullptr;
}

void avx512_convert_x_bf16(const float* x, int64_t ldx, int m, int k, uint32_t* out,
                           int64_t ld_out) {
  const int pairs = (k + 1) / 2;
  for (int r = 0; r < m; ++r) {
    const float* src = x + static_cast<int64_t>(r) * ldx;
    uint32_t* dst = out + static_cast<int64_t>(r) * ld_out;
    int c = 0;
    // 32 floats -> 16 pairs at a time; vcvtne2ps2bf16 rounds to nearest-even.
    for (; c + 32 <= k; c += 32) {
      const __m512 lo = _mm512_loadu_ps(src + c), hi = _mm512_loadu_ps(src + c + 16);
      const __m512bh packed = _mm512_cvtne2ps_pbh(hi, lo);  // words: lo[0..15], hi[0..15]
      _mm512_storeu_si512(dst + c / 2, (__m512i)packed);
    }
    // Tail (and an odd K's last pair, whose k+1 word is zero): masked 32 at a time.
    if (c < k) {
      const int left = k - c;
      const __m512 lo = _mm512_maskz_loadu_ps(first_lanes16(left), src + c);
      const __m512 hi = _mm512_maskz_loadu_ps(first_lanes16(left - 16), src + c + 16);
      const __m512bh packed = _mm512_cvtne2ps_pbh(hi, lo);
      _mm512_mask_storeu_epi32(dst + c / 2, first_lanes16(pairs - c / 2), (__m512i)packed);
    }
  }
}

}  // namespace xy::cpu::detail
