// AVX2+FMA+F16C inner loops of meta-attention. Compiled with -mavx2 -mfma -mf16c (see the CMake
// file) and reached only after cpu_features() reports those ISAs.
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

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

// exp(x) for x <= 0 (Cephes-style polynomial, the constants of smooth_gemm_tiles.h); ~2 ulp.
inline __m256 exp_poly(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(kExpClampLo)), _mm256_set1_ps(kExpClampHi));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-kLn2Hi), x);
  r = _mm256_fmadd_ps(n, _mm256_set1_ps(-kLn2Lo), r);
  __m256 p = _mm256_set1_ps(kExpPoly[0]);
  for (int i = 1; i < 6; ++i) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpPoly[i]));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
  p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
  const __m256i e =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

// One key's dot product: a single FMA chain over the 8-wide blocks of d, a fixed horizontal
// sum, then the scalar tail. dot_keys runs four of these chains interleaved (independent
// registers, same per-key sequence) to hide FMA latency.
inline float dot_tail(const float* q, const float* k, int d0, int hd) {
  float s = 0.0f;
  for (int d = d0; d < hd; ++d) s += q[d] * k[d];
  return s;
}

void dot_keys_avx2(const float* q, const float* k, int n_keys, int hd, float scale, float* out) {
  const int hd8 = hd & ~7;
  const size_t stride = static_cast<size_t>(hd);
  int j = 0;
  for (; j + 4 <= n_keys; j += 4) {
    const float* k0 = k + static_cast<size_t>(j) * stride;
    const float* k1 = k0 + stride;
    const float* k2 = k1 + stride;
    const float* k3 = k2 + stride;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    for (int d = 0; d < hd8; d += 8) {
      const __m256 qv = _mm256_loadu_ps(q + d);
      a0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + d), a0);
      a1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k1 + d), a1);
      a2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k2 + d), a2);
      a3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k3 + d), a3);
    }
    out[j] = (hsum(a0) + dot_tail(q, k0, hd8, hd)) * scale;
    out[j + 1] = (hsum(a1) + dot_tail(q, k1, hd8, hd)) * scale;
    out[j + 2] = (hsum(a2) + dot_tail(q, k2, hd8, hd)) * scale;
    out[j + 3] = (hsum(a3) + dot_tail(q, k3, hd8, hd)) * scale;
  }
  for (; j < n_keys; ++j) {
    const float* kr = k + static_cast<size_t>(j) * stride;
    __m256 a = _mm256_setzero_ps();
    for (int d = 0; d < hd8; d += 8) {
      a = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), _mm256_loadu_ps(kr + d), a);
    }
    out[j] = (hsum(a) + dot_tail(q, kr, hd8, hd)) * scale;
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

// acc += sum_j p[j] v[j] with acc[d-block] kept in registers across keys: per element the
// sequence is acc, +p0*v0, +p1*v1, ... exactly as one key at a time.
void accumulate_values_avx2(float* acc, const float* p, const float* v, int n_keys, int hd) {
  const int hd8 = hd & ~7;
  const size_t stride = static_cast<size_t>(hd);
  int d = 0;
  for (; d + 32 <= hd8; d += 32) {
    __m256 a0 = _mm256_loadu_ps(acc + d), a1 = _mm256_loadu_ps(acc + d + 8);
    __m256 a2 = _mm256_loadu_ps(acc + d + 16), a3 = _mm256_loadu_ps(acc + d + 24);
    for (int j = 0; j < n_keys; ++j) {
      if (p[j] == 0.0f) continue;
      const __m256 pj = _mm256_set1_ps(p[j]);
      const float* vr = v + static_cast<size_t>(j) * stride + d;
      a0 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vr), a0);
      a1 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vr + 8), a1);
      a2 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vr + 16), a2);
      a3 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vr + 24), a3);
    }
    _mm256_storeu_ps(acc + d, a0);
    _mm256_storeu_ps(acc + d + 8, a1);
    _mm256_storeu_ps(acc + d + 16, a2);
    _mm256_storeu_ps(acc + d + 24, a3);
  }
  for (; d < hd8; d += 8) {
    __m256 a = _mm256_loadu_ps(acc + d);
    for (int j = 0; j < n_keys; ++j) {
      if (p[j] == 0.0f) continue;
      a = _mm256_fmadd_ps(_mm256_set1_ps(p[j]),
                          _mm256_loadu_ps(v + static_cast<size_t>(j) * stride + d), a);
    }
    _mm256_storeu_ps(acc + d, a);
  }
  for (; d < hd; ++d) {
    float a = acc[d];
    for (int j = 0; j < n_keys; ++j) {
      if (p[j] == 0.0f) continue;
      a = std::fma(p[j], v[static_cast<size_t>(j) * stride + d], a);
    }
    acc[d] = a;
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
