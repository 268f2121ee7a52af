// AVX2+FMA+F16C inner loops of meta-attention. Compiled with -mavx2 -mfma -mf16c (see the CMake
// file) and reached only after cpu_features() reports those ISAs.
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "kernels/cpu/avx2_exp.h"
#include "kernels/cpu/meta_attention_kernels.h"
#include "kernels/cpu/smooth_gemm_tiles.h"

namespace xy::cpu::detail {

namespace {

// Horizontal sum in a fixed order: (hi128 + lo128), then pairs, then the last two.
inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// One key's dot product: a single FMA chain over the 8-wide blocks of d, the lanes reduced as
// ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)), then the scalar tail (head_dim % 8) and
// the scale. dot_keys runs eight such chains at once (independent registers) and reduces them
// together with hadd/permute in exactly that per-key order, so a key's score is the same
// whether it falls in a group of eight or in the remainder.
inline float reduce_one(__m256 v) {
  __m256 h = _mm256_hadd_ps(v, v);
  h = _mm256_hadd_ps(h, h);
  return _mm_cvtss_f32(_mm_add_ss(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
}

// Lane u = reduce_one(a_u), u = 0..7.
inline __m256 reduce_eight(__m256 a0, __m256 a1, __m256 a2, __m256 a3, __m256 a4, __m256 a5,
                           __m256 a6, __m256 a7) {
  const __m256 h0123 = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
  const __m256 h4567 = _mm256_hadd_ps(_mm256_hadd_ps(a4, a5), _mm256_hadd_ps(a6, a7));
  return _mm256_add_ps(_mm256_permute2f128_ps(h0123, h4567, 0x20),
                       _mm256_permute2f128_ps(h0123, h4567, 0x31));
}

inline float dot_tail(const float* q, const float* k, int d0, int hd) {
  float s = 0.0f;
  for (int d = d0; d < hd; ++d) s += q[d] * k[d];
  return s;
}

void dot_keys_avx2(const float* q, const float* k, int n_keys, int hd, float scale, float* out) {
  const int hd8 = hd & ~7;
  const size_t stride = static_cast<size_t>(hd);
  int j = 0;
  for (; j + 8 <= n_keys; j += 8) {
    const float* kj = k + static_cast<size_t>(j) * stride;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    __m256 a4 = _mm256_setzero_ps(), a5 = _mm256_setzero_ps();
    __m256 a6 = _mm256_setzero_ps(), a7 = _mm256_setzero_ps();
    for (int d = 0; d < hd8; d += 8) {
      const __m256 qv = _mm256_loadu_ps(q + d);
      a0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(kj + d), a0);
      a1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(kj + stride + d), a1);
      a2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(kj + 2 * stride + d), a2);
      a3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(kj + 3 * stride + d), a3);
      a4 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(kj + 4 * stride + d), a4);
      a5 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(kj + 5 * stride + d), a5);
      a6 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(kj + 6 * stride + d), a6);
      a7 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(kj + 7 * stride + d), a7);
    }
    const __m256 sums = reduce_eight(a0, a1, a2, a3, a4, a5, a6, a7);
    if (hd8 == hd) {
      _mm256_storeu_ps(out + j, _mm256_mul_ps(sums, _mm256_set1_ps(scale)));
    } else {
      alignas(32) float tmp[8];
      _mm256_store_ps(tmp, sums);
      for (int u = 0; u < 8; ++u) {
        out[j + u] = (tmp[u] + dot_tail(q, kj + u * stride, hd8, hd)) * scale;
      }
    }
  }
  for (; j < n_keys; ++j) {
    const float* kr = k + static_cast<size_t>(j) * stride;
    __m256 a = _mm256_setzero_ps();
    for (int d = 0; d < hd8; d += 8) {
      a = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), _mm256_loadu_ps(kr + d), a);
    }
    float sum = reduce_one(a);
    if (hd8 != hd) sum += dot_tail(q, kr, hd8, hd);
    out[j] = sum * scale;
  }
}

void softmax_numerator_avx2(float* s, int n, float* max, float* sum) {
  const __m256 neg_inf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  __m256 vm = neg_inf;
  for (int j = 0; j < n; j += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(s + j));
  const float m = hmax(vm);
  *max = m;
  *sum = 0.0f;
  if (m == -std::numeric_limits<float>::infinity()) return;
  const __m256 mv = _mm256_set1_ps(m);
  __m256 acc = _mm256_setzero_ps();
  for (int j = 0; j < n; j += 8) {
    const __m256 x = _mm256_loadu_ps(s + j);
    const __m256 masked = _mm256_cmp_ps(x, neg_inf, _CMP_EQ_OQ);
    const __m256 e = _mm256_andnot_ps(masked, exp_poly(_mm256_sub_ps(x, mv)));
    _mm256_storeu_ps(s + j, e);
    acc = _mm256_add_ps(acc, e);
  }
  *sum = hsum(acc);
}

// NQ query vectors x 16 elements of d in registers (2 * NQ accumulators, one FMA chain each),
// V loaded once per key for all NQ: throughput-bound instead of latency-bound on one chain.
template <int NQ>
void accumulate_block(float* acc, size_t acc_stride, const float* p, size_t p_stride,
                      const float* v, int n_keys, int hd) {
  const size_t stride = static_cast<size_t>(hd);
  const int hd8 = hd & ~7;
  int d = 0;
  for (; d + 16 <= hd8; d += 16) {
    __m256 lo[NQ], hi[NQ];
    for (int u = 0; u < NQ; ++u) {
      lo[u] = _mm256_loadu_ps(acc + u * acc_stride + d);
      hi[u] = _mm256_loadu_ps(acc + u * acc_stride + d + 8);
    }
    for (int j = 0; j < n_keys; ++j) {
      const float* vr = v + static_cast<size_t>(j) * stride + d;
      const __m256 v0 = _mm256_loadu_ps(vr), v1 = _mm256_loadu_ps(vr + 8);
      for (int u = 0; u < NQ; ++u) {
        const __m256 pj = _mm256_broadcast_ss(p + u * p_stride + j);
        lo[u] = _mm256_fmadd_ps(pj, v0, lo[u]);
        hi[u] = _mm256_fmadd_ps(pj, v1, hi[u]);
      }
    }
    for (int u = 0; u < NQ; ++u) {
      _mm256_storeu_ps(acc + u * acc_stride + d, lo[u]);
      _mm256_storeu_ps(acc + u * acc_stride + d + 8, hi[u]);
    }
  }
  for (; d < hd8; d += 8) {
    __m256 a[NQ];
    for (int u = 0; u < NQ; ++u) a[u] = _mm256_loadu_ps(acc + u * acc_stride + d);
    for (int j = 0; j < n_keys; ++j) {
      const __m256 vv = _mm256_loadu_ps(v + static_cast<size_t>(j) * stride + d);
      for (int u = 0; u < NQ; ++u) {
        a[u] = _mm256_fmadd_ps(_mm256_broadcast_ss(p + u * p_stride + j), vv, a[u]);
      }
    }
    for (int u = 0; u < NQ; ++u) _mm256_storeu_ps(acc + u * acc_stride + d, a[u]);
  }
  for (; d < hd; ++d) {
    for (int u = 0; u < NQ; ++u) {
      float a = acc[u * acc_stride + d];
      for (int j = 0; j < n_keys; ++j) {
        a = std::fma(p[u * p_stride + j], v[static_cast<size_t>(j) * stride + d], a);
      }
      acc[u * acc_stride + d] = a;
    }
  }
}

void accumulate_values_avx2(float* acc, size_t acc_stride, const float* p, size_t p_stride, int nq,
                            const float* v, int n_keys, int hd) {
  int u = 0;
  for (; u + 4 <= nq; u += 4) {
    accumulate_block<4>(acc + u * acc_stride, acc_stride, p + u * p_stride, p_stride, v, n_keys,
                        hd);
  }
  const float* pu = p + u * p_stride;
  float* au = acc + u * acc_stride;
  switch (nq - u) {
    case 3:
      accumulate_block<3>(au, acc_stride, pu, p_stride, v, n_keys, hd);
      break;
    case 2:
      accumulate_block<2>(au, acc_stride, pu, p_stride, v, n_keys, hd);
      break;
    case 1:
      accumulate_block<1>(au, acc_stride, pu, p_stride, v, n_keys, hd);
      break;
    default:
      break;
  }
}

void scale_add_avx2(float* acc, float a, const float* x, float b, int n) {
  const __m256 av = _mm256_set1_ps(a), bv = _mm256_set1_ps(b);
  int d = 0;
  for (; d + 8 <= n; d += 8) {
    const __m256 r =
        _mm256_fmadd_ps(_mm256_loadu_ps(x + d), bv, _mm256_mul_ps(_mm256_loadu_ps(acc + d), av));
    _mm256_storeu_ps(acc + d, r);
  }
  for (; d < n; ++d) acc[d] = std::fma(x[d], b, acc[d] * a);
}

void widen_avx2(DType dtype, const void* src, float* dst, size_t n) {
  size_t i = 0;
  if (dtype == DType::kF32) {
    std::memcpy(dst, src, n * sizeof(float));
    return;
  }
  const auto* s = static_cast<const uint16_t*>(src);
  if (dtype == DType::kBF16) {
    for (; i + 8 <= n; i += 8) {
      const __m256i w =
          _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i)));
      _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)));
    }
    for (; i < n; ++i) dst[i] = bf16_to_f32(bf16{s[i]});
  } else {
    for (; i + 8 <= n; i += 8) {
      _mm256_storeu_ps(dst + i,
                       _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i))));
    }
    for (; i < n; ++i) dst[i] = f16_to_f32(s[i]);
  }
}

}  // namespace

const AttentionKernels& avx2_attention_kernels() {
  static const AttentionKernels kernels{dot_keys_avx2, softmax_numerator_avx2,
                                        accumulate_values_avx2, scale_add_avx2, widen_avx2};
  return kernels;
}

}  // namespace xy::cpu::detail
