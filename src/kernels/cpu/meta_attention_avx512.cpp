// vdpbf16ps inner loops of meta-attention (AttentionIsa::kAvx512Bf16) on a bf16 KV cache.
// Compiled with -mavx512f/bw/vl/bf16 (see the CMake file) and reached only after
// cpu_features() reports those ISAs.
//
// K and V rows are read in place as bf16 (a row of head_dim 64 is two zmm), never widened:
// decode reads each K/V byte once, which is what bounds it. q is rounded to bf16 once per tile
// and the probabilities once per chunk; both products and sums run in f32 inside vdpbf16ps.
//
// Batch invariance: a key's score is one vdpbf16ps chain over its row then one fixed reduction
// tree over the 16 lanes, whatever slot of a 16-key group it lands in (missing keys of a short
// group are zero accumulators the tree ignores); an output element is one chain over key pairs
// counted from the first key of the call (the driver always starts at a chunk's first key).
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's AVX-512 intrinsics pass _mm512_undefined_*() as unused merge sources, which
// -Wuninitialized flags once inlined (a known false positive; see smooth_gemm_avx512.cpp).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <limits>

#include "kernels/cpu/avx512_exp.h"
#include "kernels/cpu/meta_attention_kernels.h"

#define XY_UNROLL16 _Pragma("GCC unroll 16")

namespace xy::cpu::detail {

namespace {

inline __mmask16 lanes16(int n) {
  return n >= 16 ? static_cast<__mmask16>(0xffff)
                 : static_cast<__mmask16>((1u << std::max(n, 0)) - 1u);
}

void round_pairs_avx512(const float* x, int n, uint32_t* out) {
  int i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512bh packed =
        _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i));
    _mm512_storeu_si512(out + i / 2, (__m512i)packed);
  }
  if (i < n) {
    const int left = n - i;
    const __m512 lo = _mm512_maskz_loadu_ps(lanes16(left), x + i);
    const __m512 hi = _mm512_maskz_loadu_ps(lanes16(left - 16), x + i + 16);
    _mm512_mask_storeu_epi32(out + i / 2, lanes16(left / 2), (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
  }
}

// Two vectors -> one: lane l of the result is x[a_l] + x[b_l] (indices < 16) or y[...] (>= 16).
inline __m512 fold(__m512 x, __m512 y, __m512i a, __m512i b) {
  return _mm512_add_ps(_mm512_permutex2var_ps(x, a, y), _mm512_permutex2var_ps(x, b, y));
}

// Lane j = the 16 lanes of acc[j] summed by one fixed tree: lanes l and l+8, then l and l+4,
// then l and l+2, then the last two. Each level folds pairs of vectors, halving the lanes a key
// holds, so every key goes through the same additions whatever its slot.
inline __m512 reduce_sixteen(__m512 (&acc)[16]) {
  const __m512i a1 = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
  const __m512i b1 =
      _mm512_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
  const __m512i a2 = _mm512_setr_epi32(0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
  const __m512i b2 = _mm512_setr_epi32(4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
  const __m512i a3 = _mm512_setr_epi32(0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29);
  const __m512i b3 = _mm512_setr_epi32(2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31);
  const __m512i a4 = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i b4 = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  __m512 l1[8], l2[4], l3[2];
  XY_UNROLL16
  for (int i = 0; i < 8; ++i) l1[i] = fold(acc[2 * i], acc[2 * i + 1], a1, b1);  // keys 2i, 2i+1
  XY_UNROLL16
  for (int i = 0; i < 4; ++i) l2[i] = fold(l1[2 * i], l1[2 * i + 1], a2, b2);  // keys 4i .. 4i+3
  XY_UNROLL16
  for (int i = 0; i < 2; ++i) l3[i] = fold(l2[2 * i], l2[2 * i + 1], a3, b3);  // keys 8i .. 8i+7
  return fold(l3[0], l3[1], a4, b4);
}

void dot_keys_avx512(const uint32_t* q, size_t q_stride, int nq, const uint16_t* const* k_rows,
                     int n_keys, int hd, float scale, float* out, size_t out_stride) {
  const int blocks = hd / 32;  // 32 bf16 (16 pairs) per zmm
  const __m512 sc = _mm512_set1_ps(scale);
  for (int j = 0; j < n_keys; j += 16) {
    const int count = std::min(16, n_keys - j);
    const uint16_t* const* rows = k_rows + j;
    // The next 16 rows into L1 while these compute (the driver brought them to L2).
    for (int u = 16; u < std::min(32, n_keys - j); ++u) {
      for (int b = 0; b < hd; b += 32)
        _mm_prefetch(reinterpret_cast<const char*>(rows[u] + b), _MM_HINT_T0);
    }
    for (int v = 0; v < nq; ++v) {
      const uint32_t* qv_pairs = q + v * q_stride;
      __m512 acc[16];
      XY_UNROLL16
      for (int u = 0; u < 16; ++u) acc[u] = _mm512_setzero_ps();
      for (int b = 0; b < blocks; ++b) {
        const __m512bh qv = (__m512bh)_mm512_loadu_si512(qv_pairs + 16 * b);
        if (count == 16) {
          XY_UNROLL16
          for (int u = 0; u < 16; ++u) {
            const __m512bh kv = (__m512bh)_mm512_loadu_si512(rows[u] + 32 * b);
            acc[u] = _mm512_dpbf16_ps(acc[u], qv, kv);
          }
        } else {
          XY_UNROLL16
          for (int u = 0; u < 16; ++u) {
            if (u >= count) break;
            const __m512bh kv = (__m512bh)_mm512_loadu_si512(rows[u] + 32 * b);
            acc[u] = _mm512_dpbf16_ps(acc[u], qv, kv);
          }
        }
      }
      _mm512_mask_storeu_ps(out + v * out_stride + j, lanes16(count),
                            _mm512_mul_ps(reduce_sixteen(acc), sc));
    }
  }
}

void softmax_numerator_avx512(const float* s, int n, float* max, float* sum, uint32_t* p) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const __m512 ninf = _mm512_set1_ps(neg_inf);
  __m512 vm = ninf;
  for (int j = 0; j < n; j += 16) {
    vm = _mm512_max_ps(vm, _mm512_mask_loadu_ps(ninf, lanes16(n - j), s + j));
  }
  const float m = _mm512_reduce_max_ps(vm);
  *max = m;
  *sum = 0.0f;
  const int pairs = (n + 1) / 2;
  if (m == neg_inf) {
    for (int i = 0; i < pairs; ++i) p[i] = 0;
    return;
  }
  const __m512 mv = _mm512_set1_ps(m);
  // e of 16 scores, rounded to bf16 (returned widened back to f32 for the sum, and as bf16).
  auto numerators = [&](int j, __m256i* bf) {
    const __m512 x = _mm512_mask_loadu_ps(ninf, lanes16(n - j), s + j);
    const __mmask16 visible = _mm512_cmp_ps_mask(x, ninf, _CMP_NEQ_OQ);
    const __m512 e = _mm512_maskz_mov_ps(visible, exp_poly16(_mm512_sub_ps(x, mv)));
    *bf = (__m256i)_mm512_cvtneps_pbh(e);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(*bf), 16));
  };
  __m512 acc = _mm512_setzero_ps();
  for (int j = 0; j < n; j += 32) {
    __m256i lo, hi = _mm256_setzero_si256();
    acc = _mm512_add_ps(acc, numerators(j, &lo));
    if (j + 16 < n) acc = _mm512_add_ps(acc, numerators(j + 16, &hi));
    const __m512i both = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
    _mm512_mask_storeu_epi32(p + j / 2, lanes16(pairs - j / 2), both);
  }
  // Lanes summed by a fixed tree (halves, then quarters, ...).
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, acc);
  for (int width = 8; width >= 1; width /= 2) {
    for (int l = 0; l < width; ++l) lanes[l] += lanes[l + width];
  }
  *sum = lanes[0];
}

// Lane 4L+t of the unpacked low (high) half of a 32-element d block holds d = 8L+t (8L+4+t):
// these gather a block of acc into that order and scatter it back.
inline void load_interleaved(const float* a, __m512* lo, __m512* hi) {
  const __m512i ilo = _mm512_setr_epi32(0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
  const __m512i ihi = _mm512_setr_epi32(4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
  const __m512 x0 = _mm512_loadu_ps(a), x1 = _mm512_loadu_ps(a + 16);
  *lo = _mm512_permutex2var_ps(x0, ilo, x1);
  *hi = _mm512_permutex2var_ps(x0, ihi, x1);
}

inline void store_interleaved(float* a, __m512 lo, __m512 hi) {
  const __m512i i0 = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
  const __m512i i1 =
      _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
  _mm512_storeu_ps(a, _mm512_permutex2var_ps(lo, i0, hi));
  _mm512_storeu_ps(a + 16, _mm512_permutex2var_ps(lo, i1, hi));
}

// NQ query vectors x DB blocks of 32 elements of d in registers (2 * NQ * DB accumulators); the
// key pair's V rows are interleaved once (vpunpck{l,h}wd) for all NQ.
template <int NQ, int DB>
void accumulate_block(float* acc, size_t acc_stride, const uint32_t* p, size_t p_stride,
                      const uint16_t* const* v_rows, int n_keys, int d0) {
  __m512 lo[NQ][DB], hi[NQ][DB];
  for (int u = 0; u < NQ; ++u) {
    for (int b = 0; b < DB; ++b)
      load_interleaved(acc + u * acc_stride + d0 + 32 * b, &lo[u][b], &hi[u][b]);
  }
  const int pairs = (n_keys + 1) / 2;
  for (int i = 0; i < pairs; ++i) {
    const uint16_t* ra = v_rows[2 * i] + d0;
    const uint16_t* rb = 2 * i + 1 < n_keys ? v_rows[2 * i + 1] + d0 : nullptr;
    __m512bh pp[NQ];
    for (int u = 0; u < NQ; ++u) {
      pp[u] = (__m512bh)_mm512_set1_epi32(static_cast<int>(p[u * p_stride + i]));
    }
    for (int b = 0; b < DB; ++b) {
      const __m512i va = _mm512_loadu_si512(ra + 32 * b);
      const __m512i vb = rb != nullptr ? _mm512_loadu_si512(rb + 32 * b) : _mm512_setzero_si512();
      const __m512bh vlo = (__m512bh)_mm512_unpacklo_epi16(va, vb);
      const __m512bh vhi = (__m512bh)_mm512_unpackhi_epi16(va, vb);
      for (int u = 0; u < NQ; ++u) {
        lo[u][b] = _mm512_dpbf16_ps(lo[u][b], vlo, pp[u]);
        hi[u][b] = _mm512_dpbf16_ps(hi[u][b], vhi, pp[u]);
      }
    }
  }
  for (int u = 0; u < NQ; ++u) {
    for (int b = 0; b < DB; ++b)
      store_interleaved(acc + u * acc_stride + d0 + 32 * b, lo[u][b], hi[u][b]);
  }
}

template <int NQ>
void accumulate_queries(float* acc, size_t acc_stride, const uint32_t* p, size_t p_stride,
                        const uint16_t* const* v_rows, int n_keys, int hd) {
  int d0 = 0;
  for (; d0 + 64 <= hd; d0 += 64) {
    accumulate_block<NQ, 2>(acc, acc_stride, p, p_stride, v_rows, n_keys, d0);
  }
  if (d0 < hd) accumulate_block<NQ, 1>(acc, acc_stride, p, p_stride, v_rows, n_keys, d0);
}

void accumulate_values_avx512(float* acc, size_t acc_stride, const uint32_t* p, size_t p_stride,
                              int nq, const uint16_t* const* v_rows, int n_keys, int hd) {
  if (n_keys <= 0) return;
  int u = 0;
  for (; u + 4 <= nq; u += 4) {
    accumulate_queries<4>(acc + u * acc_stride, acc_stride, p + u * p_stride, p_stride, v_rows,
                          n_keys, hd);
  }
  float* au = acc + u * acc_stride;
  const uint32_t* pu = p + u * p_stride;
  switch (nq - u) {
    case 3:
      accumulate_queries<3>(au, acc_stride, pu, p_stride, v_rows, n_keys, hd);
      break;
    case 2:
      accumulate_queries<2>(au, acc_stride, pu, p_stride, v_rows, n_keys, hd);
      break;
    case 1:
      accumulate_queries<1>(au, acc_stride, pu, p_stride, v_rows, n_keys, hd);
      break;
    default:
      break;
  }
}

}  // namespace

const AttentionBf16Kernels& avx512_bf16_attention_kernels() {
  static const AttentionBf16Kernels kernels{round_pairs_avx512, dot_keys_avx512,
                                            softmax_numerator_avx512, accumulate_values_avx512};
  return kernels;
}

}  // namespace xy::cpu::detail
