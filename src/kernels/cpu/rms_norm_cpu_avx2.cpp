// RMSNorm row kernel for AVX2 (compiled with -mavx2 -mfma -mf16c; reached only after run-time
// detection). Deliberately no FMA: the sum of squares is eight lanes of unfused mul + add, so it
// reproduces ref::dot_f32 and the scalar path bit for bit.
#include <immintrin.h>

#include <cmath>

#include "kernels/cpu/rms_norm_cpu.h"

namespace xy::cpu::detail {

void rms_norm_row_avx2(const float* x, const float* weight, float* y, int dim, float eps) {
  __m256 acc = _mm256_setzero_ps();
  int k = 0;
  for (; k + 8 <= dim; k += 8) {
    const __m256 v = _mm256_loadu_ps(x + k);
    acc = _mm256_add_ps(acc, _mm256_mul_ps(v, v));
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, acc);
  for (int l = 0; k < dim; ++k, ++l) lanes[l] += x[k] * x[k];
  const float s01 = lanes[0] + lanes[4], s12 = lanes[1] + lanes[5], s23 = lanes[2] + lanes[6],
              s34 = lanes[3] + lanes[7];
  const float sum = (s01 + s23) + (s12 + s34);
  const float inv_rms = 1.0f / std::sqrt(sum / static_cast<float>(dim) + eps);
  const __m256 inv = _mm256_set1_ps(inv_rms);
  int i = 0;
  for (; i + 8 <= dim; i += 8) {
    const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), inv);
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(weight + i), v));
  }
  for (; i < dim; ++i) y[i] = weight[i] * (x[i] * inv_rms);
}

}  // namespace xy::cpu::detail
