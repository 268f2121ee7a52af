// Rotary embedding and KV-row stores for AVX2 (compiled with -mavx2 -mfma -mf16c; reached only
// after run-time detection). No FMA: the rotation is the reference's unfused products and sums.
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/rope_kv_cpu.h"
#include "kernels/reference/widen.h"

namespace xy::cpu::detail {

void rotate_avx2(const float* x, float* out, const float* c, const float* s, int half) {
  int i = 0;
  for (; i + 8 <= half; i += 8) {
    const __m256 x1 = _mm256_loadu_ps(x + i);
    const __m256 x2 = _mm256_loadu_ps(x + half + i);
    const __m256 cv = _mm256_loadu_ps(c + i);
    const __m256 sv = _mm256_loadu_ps(s + i);
    _mm256_storeu_ps(out + i, _mm256_sub_ps(_mm256_mul_ps(x1, cv), _mm256_mul_ps(x2, sv)));
    _mm256_storeu_ps(out + half + i, _mm256_add_ps(_mm256_mul_ps(x2, cv), _mm256_mul_ps(x1, sv)));
  }
  for (; i < half; ++i) {
    const float x1 = x[i];
    const float x2 = x[i + half];
    out[i] = x1 * c[i] - x2 * s[i];
    out[i + half] = x2 * c[i] + x1 * s[i];
  }
}

namespace {

// 8 f32 -> 8 bf16, round to nearest even, NaN -> quiet NaN: core/dtype.h's f32_to_bf16.
inline __m128i to_bf16(__m256 v) {
  const __m256i u = _mm256_castps_si256(v);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  const __m256i rounded =
      _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff))), 16);
  const __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));
  const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  const __m256i r = _mm256_blendv_epi8(rounded, quiet, nan);
  // Values fit in 16 bits: unsigned saturation keeps them; packus works per 128-bit half.
  const __m256i packed = _mm256_packus_epi32(r, r);
  return _mm256_castsi256_si128(_mm256_permute4x64_epi64(packed, 0x08));
}

}  // namespace

void store_row_avx2(const float* src, void* dst, DType dtype, int n) {
  int i = 0;
  if (dtype == DType::kF32) {
    float* d = static_cast<float*>(dst);
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(d + i, _mm256_loadu_ps(src + i));
  } else if (dtype == DType::kBF16) {
    auto* d = static_cast<uint16_t*>(dst);
    for (; i + 8 <= n; i += 8) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d + i), to_bf16(_mm256_loadu_ps(src + i)));
    }
  } else {
    // F16C rounds to nearest even with IEEE subnormals and overflow to infinity, as
    // core/dtype.h's f32_to_f16 (NaN payloads may differ; both stay NaN).
    auto* d = static_cast<uint16_t*>(dst);
    for (; i + 8 <= n; i += 8) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d + i),
                       _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    }
  }
  if (i < n) {
    ref::narrow_from_f32(dtype, src + i, static_cast<char*>(dst) + i * dtype_size(dtype),
                         static_cast<size_t>(n - i));
  }
}

}  // namespace xy::cpu::detail
