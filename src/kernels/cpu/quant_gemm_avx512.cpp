// QuantGEMM micro-kernels for AVX-512 VNNI (compiled with -mavx512f/bw/vl/vnni; called only after
// cpu_features() confirmed them). One 16-column panel row of 4 k is one zmm of u8 codes; vpdpbusd
// multiplies it by the broadcast 4 s8 activation codes of a row and adds the 4 products per
// column to a 32-bit lane. A tile keeps MR x NP integer accumulators for the current 32-k group
// and MR x NP f32 accumulators across groups; the group's f32 step and the epilogue are those of
// the scalar path (quant_gemm_scalar.cpp), so both write the same bits.
// GCC 12's AVX-512 intrinsics pass _mm512_undefined_*() as unused merge sources, which
// -Wuninitialized flags once inlined (a known false positive; see smooth_gemm_avx512.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/cpu/gemm_epilogue_avx512.h"
#include "kernels/cpu/quant_gemm_tile_table.h"
#include "kernels/cpu/quant_gemm_tiles.h"
#include "kernels/cpu/quant_weight.h"

#define XY_UNROLL_TILE _Pragma("GCC unroll 32")

namespace xy::cpu::detail {

namespace {

inline __m512i broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// The kBlock bytes of one k-group of every panel stream, `offset` bytes further along, into L1
// (or, kIntoL2, into L2). Through uintptr_t: the address may lie past the panels, where a pointer
// may not point (a prefetch never faults). The hint is a bool, not the hint itself: GCC takes an
// enum _mm_hint and clang a plain int, so only the literal constants are portable.
template <int NP, size_t kBlock, bool kIntoL2>
inline void prefetch_group(const uint8_t* const* blk, size_t offset) {
  XY_UNROLL_TILE
  for (int q = 0; q < NP; ++q) {
    const uintptr_t at = reinterpret_cast<uintptr_t>(blk[q]) + offset;
    XY_UNROLL_TILE
    for (size_t line = 0; line < kBlock; line += 64) {
      const char* address = reinterpret_cast<const char*>(at + line);
      if constexpr (kIntoL2) {
        _mm_prefetch(address, _MM_HINT_T1);
      } else {
        _mm_prefetch(address, _MM_HINT_T0);
      }
    }
  }
}

// Decode tiles (MR <= 2) of 4- and 6-bit codes prefetch each panel stream about 1.5 KiB ahead.
// At M = 1 the weights come from DRAM, and these tiles read few bytes per instruction, so their
// out-of-order window holds too few misses to cover the latency (bench_gemm lm_head at M = 1:
// Q4_0 1.17x, Q6_K 1.13x). 8-bit tiles already stream at the bandwidth and lose 14% with it;
// larger tiles are compute-bound and prefetch only the next n-tile's panels during a run (tile).
template <int NP, size_t kBlock>
inline void prefetch_ahead(const uint8_t* const* blk) {
  constexpr size_t kAheadBytes = 1536;
  constexpr size_t kAhead = std::max<size_t>(1, (kAheadBytes + kBlock / 2) / kBlock) * kBlock;
  prefetch_group<NP, kBlock, /*kIntoL2=*/false>(blk, kAhead);
}

// A group's f32 step, shared by every format: acc += float(integer sum) * (d * s) (quant_gemm.h).
template <int MR, int NP>
inline void group_step(const __m512i (&sums)[MR][NP], const __m512 (&d)[NP],
                       const float* const* scale, int g, __m512 (&acc)[MR][NP]) {
  XY_UNROLL_TILE
  for (int r = 0; r < MR; ++r) {
    const __m512 s = _mm512_set1_ps(scale[r][g]);
    XY_UNROLL_TILE
    for (int q = 0; q < NP; ++q)
      acc[r][q] =
          _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums[r][q]), _mm512_mul_ps(d[q], s), acc[r][q]);
  }
}

// The 6-bit layout's four k-groups of one 16-k half (quant_weight.h): three codes are a mask
// away; the fourth gathers its 2-bit pieces from bits 6..7 of the three vectors (16-bit shifts
// move them to bits 0..1, 2..3, 4..5; two bit-selects and a mask drop what crossed a byte).
inline void six_bit_codes(const uint8_t* set, __m512i (&code)[4]) {
  const __m512i low6 = _mm512_set1_epi8(0x3F), m03 = _mm512_set1_epi8(0x03),
                m0f = _mm512_set1_epi8(0x0F);
  const __m512i v0 = _mm512_loadu_si512(set), v1 = _mm512_loadu_si512(set + 64),
                v2 = _mm512_loadu_si512(set + 128);
  code[0] = _mm512_and_si512(v0, low6);
  code[1] = _mm512_and_si512(v1, low6);
  code[2] = _mm512_and_si512(v2, low6);
  // select(a, b, m) = (a & m) | (b & ~m): imm 0xE4 with a, b, m as the three operands.
  const __m512i lo4 =
      _mm512_ternarylogic_epi32(_mm512_srli_epi16(v0, 6), _mm512_srli_epi16(v1, 4), m03, 0xE4);
  code[3] =
      _mm512_and_si512(_mm512_ternarylogic_epi32(lo4, _mm512_srli_epi16(v2, 2), m0f, 0xE4), low6);
}

// One 32-k group of 6-bit codes (Q6_K's form): each 16-k half's exact integer sum is scaled by its
// int8 sub-scale in integers (vpmulld; |sum| < 2^24, see the scalar path), then one f32 step.
template <int MR, int NP>
inline void six_bit_group(const uint8_t* const* blk, const int8_t* const* xq,
                          const float* const* scale, const int32_t* const* half_sum,
                          const int32_t* const* sum, int g, int offset, __m512 (&acc)[MR][NP]) {
  constexpr size_t kScales = QuantWeight::scales_offset(6),
                   kSubScales = QuantWeight::extra_offset(6);
  __m512i total[MR][NP];
  XY_UNROLL_TILE
  for (int h = 0; h < 2; ++h) {
    __m512i dot[MR][NP];
    XY_UNROLL_TILE
    for (int r = 0; r < MR; ++r) {
      const int32_t hs = h == 0 ? half_sum[r][g] : sum[r][g] - half_sum[r][g];
      const __m512i start = _mm512_set1_epi32(-offset * hs);
      XY_UNROLL_TILE
      for (int q = 0; q < NP; ++q) dot[r][q] = start;
    }
    __m512i code[NP][4];
    XY_UNROLL_TILE
    for (int q = 0; q < NP; ++q) six_bit_codes(blk[q] + 192 * h, code[q]);
    XY_UNROLL_TILE
    for (int j = 0; j < 4; ++j) {
      XY_UNROLL_TILE
      for (int r = 0; r < MR; ++r) {
        const __m512i xb = broadcast4(xq[r] + 32 * g + 16 * h + 4 * j);
        XY_UNROLL_TILE
        for (int q = 0; q < NP; ++q) dot[r][q] = _mm512_dpbusd_epi32(dot[r][q], code[q][j], xb);
      }
    }
    XY_UNROLL_TILE
    for (int q = 0; q < NP; ++q) {
      const __m512i sc = _mm512_cvtepi8_epi32(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk[q] + kSubScales + 16 * h)));
      XY_UNROLL_TILE
      for (int r = 0; r < MR; ++r) {
        const __m512i scaled = _mm512_mullo_epi32(dot[r][q], sc);
        total[r][q] = h == 0 ? scaled : _mm512_add_epi32(total[r][q], scaled);
      }
    }
  }
  __m512 d[NP];
  XY_UNROLL_TILE
  for (int q = 0; q < NP; ++q) {
    d[q] = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk[q] + kScales)));
  }
  group_step<MR, NP>(total, d, scale, g, acc);
}

template <int MR, int NP, int BITS, bool MIN>
void tile(const QuantGemmProblem& p, int m0, int panel0, uint32_t next_panels) {
  constexpr size_t kScales = QuantWeight::scales_offset(BITS),
                   kExtra = QuantWeight::extra_offset(BITS);
  const TileRows<MR> rows(p.a, p.out.m, m0);
  const int8_t* const* xq = rows.q;
  const float* const* scale = rows.scale;
  const int32_t* const* sum = rows.sum;
  const float* const* scaled_sum = rows.scaled_sum;
  const uint8_t* pan[NP];
  XY_UNROLL_TILE
  for (int q = 0; q < NP; ++q) pan[q] = p.panels + static_cast<size_t>(panel0 + q) * p.panel_bytes;
  const size_t block = p.block_bytes;
  const int groups = p.groups;
  const __m512i nibble = _mm512_set1_epi8(0x0F);

  __m512 acc[MR][NP];
  XY_UNROLL_TILE
  for (int r = 0; r < MR; ++r) {
    XY_UNROLL_TILE
    for (int q = 0; q < NP; ++q) acc[r][q] = _mm512_setzero_ps();
  }
  for (int g = 0; g < groups; ++g) {
    const uint8_t* blk[NP];
    XY_UNROLL_TILE
    for (int q = 0; q < NP; ++q) blk[q] = pan[q] + g * block;
    if constexpr (MR <= 2 && BITS < 8) prefetch_ahead<NP, QuantWeight::block_bytes(BITS, MIN)>(blk);
    // The same group of the next n-tile's panels, into L2. The 4- and 6-bit drivers ask for all
    // of them or none (quant_gemm.cpp), and a per-panel test here cost the 6-bit tile 4%.
    if (BITS != 8 && next_panels != 0) {
      prefetch_group<NP, QuantWeight::block_bytes(BITS, MIN), /*kIntoL2=*/true>(blk,
                                                                                NP * p.panel_bytes);
    }
    if constexpr (BITS == 8) {  // this tile's share of them
      XY_UNROLL_TILE
      for (int q = 0; q < NP; ++q) {
        if ((next_panels >> q & 1) == 0) continue;
        prefetch_group<1, QuantWeight::block_bytes(BITS, MIN), /*kIntoL2=*/true>(
            &blk[q], NP * p.panel_bytes);
      }
    }
    if constexpr (BITS == 6) {
      six_bit_group<MR, NP>(blk, xq, scale, rows.half_sum, sum, g, p.offset, acc);
      continue;
    }
    __m512i dot[MR][NP];
    XY_UNROLL_TILE
    for (int r = 0; r < MR; ++r) {
      const __m512i start = MIN ? _mm512_setzero_si512() : _mm512_set1_epi32(-p.offset * sum[r][g]);
      XY_UNROLL_TILE
      for (int q = 0; q < NP; ++q) dot[r][q] = start;
    }
    if constexpr (BITS == 8) {
      XY_UNROLL_TILE
      for (int s = 0; s < 8; ++s) {
        __m512i w[NP];
        XY_UNROLL_TILE
        for (int q = 0; q < NP; ++q) w[q] = _mm512_loadu_si512(blk[q] + 64 * s);
        XY_UNROLL_TILE
        for (int r = 0; r < MR; ++r) {
          const __m512i xb = broadcast4(xq[r] + 32 * g + 4 * s);
          XY_UNROLL_TILE
          for (int q = 0; q < NP; ++q) dot[r][q] = _mm512_dpbusd_epi32(dot[r][q], w[q], xb);
        }
      }
    } else {
      XY_UNROLL_TILE
      for (int h = 0; h < 4; ++h) {
        __m512i lo[NP], hi[NP];
        XY_UNROLL_TILE
        for (int q = 0; q < NP; ++q) {
          const __m512i v = _mm512_loadu_si512(blk[q] + 64 * h);
          lo[q] = _mm512_and_si512(v, nibble);
          hi[q] = _mm512_and_si512(_mm512_srli_epi16(v, 4), nibble);
        }
        XY_UNROLL_TILE
        for (int r = 0; r < MR; ++r) {
          const __m512i x0 = broadcast4(xq[r] + 32 * g + 8 * h);
          const __m512i x1 = broadcast4(xq[r] + 32 * g + 8 * h + 4);
          XY_UNROLL_TILE
          for (int q = 0; q < NP; ++q) {
            dot[r][q] = _mm512_dpbusd_epi32(dot[r][q], lo[q], x0);
            dot[r][q] = _mm512_dpbusd_epi32(dot[r][q], hi[q], x1);
          }
        }
      }
    }
    __m512 d[NP], mn[NP];
    XY_UNROLL_TILE
    for (int q = 0; q < NP; ++q) {
      d[q] =
          _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk[q] + kScales)));
      if constexpr (MIN) {
        mn[q] =
            _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk[q] + kExtra)));
      }
    }
    group_step<MR, NP>(dot, d, scale, g, acc);
    if constexpr (MIN) {
      XY_UNROLL_TILE
      for (int r = 0; r < MR; ++r) {
        XY_UNROLL_TILE
        for (int q = 0; q < NP; ++q)
          acc[r][q] = _mm512_fnmadd_ps(mn[q], _mm512_set1_ps(scaled_sum[r][g]), acc[r][q]);
      }
    }
  }

  store_accumulators<MR, NP, /*kInterleaved=*/false>(p.out, m0, panel0, acc);
}

struct Tiles {
  template <int MR, int NP, int BITS, bool MIN>
  static void run(const QuantGemmProblem& p, int m0, int panel0, uint32_t next_panels) {
    tile<MR, NP, BITS, MIN>(p, m0, panel0, next_panels);
  }
};

}  // namespace

QuantTileFn avx512_vnni_quant_tile_fn(int mr, int np, int bits, bool has_min) {
  return quant_tile_for<Tiles>(mr, np, bits, has_min);
}

void quantize_rows_avx512(const float* x, int64_t ldx, int m, int k, const QuantizedRows& out) {
  const __m512 lo = _mm512_set1_ps(-127.0f), hi = _mm512_set1_ps(127.0f);
  for (int r = 0; r < m; ++r) {
    const float* xr = x + r * ldx;
    for (int g = 0; g < k / 32; ++g) {
      const __m512 a = _mm512_loadu_ps(xr + 32 * g), b = _mm512_loadu_ps(xr + 32 * g + 16);
      const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(a), _mm512_abs_ps(b)));
      const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
      const __m512 vinv = _mm512_set1_ps(inv);
      // Round to nearest even (the default MXCSR mode, as std::nearbyint), then clamp: max with
      // -127 first, so a NaN becomes -127 as in the scalar path.
      const __m512 ra = _mm512_min_ps(
          hi, _mm512_max_ps(_mm512_roundscale_ps(_mm512_mul_ps(a, vinv),
                                                 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC),
                            lo));
      const __m512 rb = _mm512_min_ps(
          hi, _mm512_max_ps(_mm512_roundscale_ps(_mm512_mul_ps(b, vinv),
                                                 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC),
                            lo));
      const __m512i qa = _mm512_cvttps_epi32(ra), qb = _mm512_cvttps_epi32(rb);
      int8_t* q = out.q + r * out.ldq + 32 * g;
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q), _mm512_cvtepi32_epi8(qa));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 16), _mm512_cvtepi32_epi8(qb));
      const int32_t half_sum = _mm512_reduce_add_epi32(qa);
      const int32_t sum = half_sum + _mm512_reduce_add_epi32(qb);
      out.half_sum[r * out.lds + g] = half_sum;
      const float scale = amax / 127.0f;
      out.scale[r * out.lds + g] = scale;
      out.sum[r * out.lds + g] = sum;
      out.scaled_sum[r * out.lds + g] = scale * float(sum);
    }
  }
}

}  // namespace xy::cpu::detail
