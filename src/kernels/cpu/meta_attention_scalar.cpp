// Portable inner loops of meta-attention (any x86-64 CPU): the fallback when AVX2 is missing.
#include <cmath>
#include <limits>

#include "kernels/cpu/meta_attention_kernels.h"
#include "kernels/reference/widen.h"

namespace xy::cpu::detail {

namespace {

void dot_keys_scalar(const float* q, const float* k, int n_keys, int hd, float scale, float* out) {
  for (int j = 0; j < n_keys; ++j) {
    const float* kr = k + static_cast<size_t>(j) * hd;
    float s = 0.0f;
    for (int d = 0; d < hd; ++d) s += q[d] * kr[d];
    out[j] = s * scale;
  }
}

void softmax_numerator_scalar(float* s, int n, float* max, float* sum) {
  float m = -std::numeric_limits<float>::infinity();
  for (int j = 0; j < n; ++j) m = s[j] > m ? s[j] : m;
  *max = m;
  *sum = 0.0f;
  if (m == -std::numeric_limits<float>::infinity()) return;
  float total = 0.0f;
  for (int j = 0; j < n; ++j) {
    s[j] = s[j] == -std::numeric_limits<float>::infinity() ? 0.0f : std::exp(s[j] - m);
    total += s[j];
  }
  *sum = total;
}

void accumulate_values_scalar(float* acc, size_t acc_stride, const float* p, size_t p_stride,
                              int nq, const float* v, int n_keys, int hd) {
  for (int u = 0; u < nq; ++u) {
    float* a = acc + u * acc_stride;
    const float* pu = p + u * p_stride;
    for (int j = 0; j < n_keys; ++j) {
      const float* vr = v + static_cast<size_t>(j) * hd;
      for (int d = 0; d < hd; ++d) a[d] += pu[j] * vr[d];
    }
  }
}

void scale_add_scalar(float* acc, float a, const float* x, float b, int n) {
  for (int d = 0; d < n; ++d) acc[d] = acc[d] * a + x[d] * b;
}

void widen_scalar(DType dtype, const void* src, float* dst, size_t n) {
  ref::widen_to_f32(dtype, src, dst, n);
}

}  // namespace

const AttentionKernels& scalar_attention_kernels() {
  static const AttentionKernels kernels{dot_keys_scalar, softmax_numerator_scalar,
                                        accumulate_values_scalar, scale_add_scalar, widen_scalar};
  return kernels;
}

}  // namespace xy::cpu::detail
