// QuantGEMM micro-kernels for AVX2 CPUs without AVX-512 VNNI (compiled with -mavx2 -mfma -mf16c).
// AVX2 has no vpdpbusd; its u8 x s8 product, vpmaddubsw, sums pairs into saturating 16-bit lanes,
// which is exact only while |code| * 127 * 2 < 2^15: true for 4-bit codes, not for 8-bit ones.
// So 8-bit codes are split into nibbles, c = 16 hi + lo, each nibble's pairs summed by vpmaddubsw
// (exact), widened to 32 bits by vpmaddwd with ones, and recombined (hi << 4) + lo. Every
// integer sum therefore equals vpdpbusd's, and the per-group f32 step and the epilogue are the
// scalar path's: all three paths write the same bits.
//
// Registers: a 16-column panel is two ymm of 8 columns. A tile walks its panel halves one at a
// time ("strips" of 8 columns) over the whole k range, keeping MR integer and MR f32
// accumulators of that strip in registers (16 ymm in all), and stores each finished strip to the
// tile's column-order buffer for the shared epilogue.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/cpu/gemm_epilogue_scalar.h"
#include "kernels/cpu/quant_gemm_tile_table.h"
#include "kernels/cpu/quant_gemm_tiles.h"
#include "kernels/cpu/quant_weight.h"

#define XY_UNROLL_TILE _Pragma("GCC unroll 16")

namespace xy::cpu::detail {

namespace {

inline __m256i broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// Σ over each lane's 4 bytes of code * x, exactly (see the file comment). codes: u8, x: s8.
// 6-bit codes (at most 63) are as safe as 4-bit ones: 2 * 63 * 127 < 2^15.
template <int BITS>
inline __m256i dot4(__m256i codes, __m256i x, __m256i ones16, __m256i nibble) {
  if constexpr (BITS == 4 || BITS == 6) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(codes, x), ones16);
  } else {
    const __m256i lo = _mm256_and_si256(codes, nibble);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(codes, 4), nibble);
    const __m256i slo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, x), ones16);
    const __m256i shi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, x), ones16);
    return _mm256_add_epi32(_mm256_slli_epi32(shi, 4), slo);
  }
}

// One 32-k group of 6-bit codes for 8 columns (Q6_K's form; layout and integer sub-scales as in
// quant_gemm_avx512.cpp): codes at `codes` (64-byte vectors, this strip's 32 bytes of each), the
// strip's 8 f16 scales at `d16`, its int8 sub-scales at `sc` (half h at +16 h).
template <int MR>
inline void six_bit_group(const uint8_t* codes, const uint8_t* d16, const uint8_t* sc,
                          const TileRows<MR>& rows, int g, int offset, __m256 (&acc)[MR]) {
  const __m256i ones16 = _mm256_set1_epi16(1);
  const __m256i low6 = _mm256_set1_epi8(0x3F), m03 = _mm256_set1_epi8(0x03),
                m0c = _mm256_set1_epi8(0x0C), m30 = _mm256_set1_epi8(0x30);
  __m256i total[MR];
  for (int h = 0; h < 2; ++h) {
    const uint8_t* set = codes + 192 * h;
    const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(set));
    const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(set + 64));
    const __m256i v2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(set + 128));
    const __m256i code[4] = {
        _mm256_and_si256(v0, low6), _mm256_and_si256(v1, low6), _mm256_and_si256(v2, low6),
        _mm256_or_si256(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v0, 6), m03),
                                        _mm256_and_si256(_mm256_srli_epi16(v1, 4), m0c)),
                        _mm256_and_si256(_mm256_srli_epi16(v2, 2), m30))};
    __m256i dot[MR];
    XY_UNROLL_TILE
    for (int r = 0; r < MR; ++r) {
      const int32_t hs = h == 0 ? rows.half_sum[r][g] : rows.sum[r][g] - rows.half_sum[r][g];
      dot[r] = _mm256_set1_epi32(-offset * hs);
    }
    XY_UNROLL_TILE
    for (int j = 0; j < 4; ++j) {
      XY_UNROLL_TILE
      for (int r = 0; r < MR; ++r) {
        dot[r] = _mm256_add_epi32(
            dot[r],
            dot4<6>(code[j], broadcast4(rows.q[r] + 32 * g + 16 * h + 4 * j), ones16, low6));
      }
    }
    const __m256i sc32 =
        _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sc + 16 * h)));
    XY_UNROLL_TILE
    for (int r = 0; r < MR; ++r) {
      const __m256i scaled = _mm256_mullo_epi32(dot[r], sc32);
      total[r] = h == 0 ? scaled : _mm256_add_epi32(total[r], scaled);
    }
  }
  const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(d16)));
  XY_UNROLL_TILE
  for (int r = 0; r < MR; ++r) {
    const __m256 ds = _mm256_mul_ps(d, _mm256_set1_ps(rows.scale[r][g]));
    acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total[r]), ds, acc[r]);
  }
}

template <int MR, int NP, int BITS, bool MIN>
void tile(const QuantGemmProblem& p, int m0, int panel0) {
  constexpr size_t kScales = QuantWeight::scales_offset(BITS),
                   kExtra = QuantWeight::extra_offset(BITS);
  const TileRows<MR> rows(p.a, p.out.m, m0);
  const int8_t* const* xq = rows.q;
  const float* const* scale = rows.scale;
  const int32_t* const* sum = rows.sum;
  const float* const* scaled_sum = rows.scaled_sum;
  const __m256i ones16 = _mm256_set1_epi16(1);
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  alignas(32) float out[MR * NP * 16];
  for (int q = 0; q < NP; ++q) {
    const uint8_t* pan = p.panels + static_cast<size_t>(panel0 + q) * p.panel_bytes;
    for (int half = 0; half < 2; ++half) {
      const int byte0 = 32 * half;  // columns 8 half .. 8 half + 7 of each 64-byte vector
      __m256 acc[MR];
      XY_UNROLL_TILE
      for (int r = 0; r < MR; ++r) acc[r] = _mm256_setzero_ps();
      for (int g = 0; g < p.groups; ++g) {
        const uint8_t* blk = pan + g * p.block_bytes;
        if constexpr (BITS == 6) {
          six_bit_group<MR>(blk + byte0, blk + kScales + 16 * half, blk + kExtra + 8 * half, rows,
                            g, p.offset, acc);
          continue;
        }
        __m256i dot[MR];
        XY_UNROLL_TILE
        for (int r = 0; r < MR; ++r) {
          dot[r] = MIN ? _mm256_setzero_si256() : _mm256_set1_epi32(-p.offset * sum[r][g]);
        }
        if constexpr (BITS == 8) {
          XY_UNROLL_TILE
          for (int s = 0; s < 8; ++s) {
            const __m256i w =
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 64 * s + byte0));
            XY_UNROLL_TILE
            for (int r = 0; r < MR; ++r) {
              dot[r] = _mm256_add_epi32(
                  dot[r], dot4<8>(w, broadcast4(xq[r] + 32 * g + 4 * s), ones16, nibble));
            }
          }
        } else {
          XY_UNROLL_TILE
          for (int h = 0; h < 4; ++h) {
            const __m256i v =
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 64 * h + byte0));
            const __m256i lo = _mm256_and_si256(v, nibble);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble);
            XY_UNROLL_TILE
            for (int r = 0; r < MR; ++r) {
              dot[r] = _mm256_add_epi32(
                  dot[r], dot4<4>(lo, broadcast4(xq[r] + 32 * g + 8 * h), ones16, nibble));
              dot[r] = _mm256_add_epi32(
                  dot[r], dot4<4>(hi, broadcast4(xq[r] + 32 * g + 8 * h + 4), ones16, nibble));
            }
          }
        }
        const __m256 d = _mm256_cvtph_ps(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kScales + 16 * half)));
        __m256 mn = _mm256_setzero_ps();
        if constexpr (MIN) {
          mn = _mm256_cvtph_ps(
              _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kExtra + 16 * half)));
        }
        XY_UNROLL_TILE
        for (int r = 0; r < MR; ++r) {
          const __m256 ds = _mm256_mul_ps(d, _mm256_set1_ps(scale[r][g]));
          acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot[r]), ds, acc[r]);
          if constexpr (MIN)
            acc[r] = _mm256_fnmadd_ps(mn, _mm256_set1_ps(scaled_sum[r][g]), acc[r]);
        }
      }
      XY_UNROLL_TILE
      for (int r = 0; r < MR; ++r) _mm256_store_ps(out + r * NP * 16 + q * 16 + 8 * half, acc[r]);
    }
  }
  store_tile_scalar(p.out, m0, panel0, MR, NP, out);
}

struct Tiles {
  template <int MR, int NP, int BITS, bool MIN>
  static void run(const QuantGemmProblem& p, int m0, int panel0, uint32_t /*next_panels*/) {
    tile<MR, NP, BITS, MIN>(p, m0, panel0);
  }
};

}  // namespace

QuantTileFn avx2_quant_tile_fn(int mr, int np, int bits, bool has_min) {
  return quant_tile_for<Tiles>(mr, np, bits, has_min);
}

}  // namespace xy::cpu::detail
