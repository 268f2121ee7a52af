#include "kernels/reference/linear.h"

#include <vector>

#include "core/check.h"
#include "kernels/reference/widen.h"

namespace xy::ref {

float dot_f32(const float* a, const float* b, int n) {
  // Eight independent partial sums, combined in a fixed tree: the compiler can keep them in one
  // vector register without -ffast-math, and the order never depends on the caller.
  constexpr int kLanes = 8;
  float acc[kLanes] = {};
  int k = 0;
  for (; k + kLanes <= n; k += kLanes) {
    for (int l = 0; l < kLanes; ++l) acc[l] += a[k + l] * b[k + l];
  }
  for (int l = 0; k < n; ++k, ++l) acc[l] += a[k] * b[k];
  const float s01 = acc[0] + acc[4], s12 = acc[1] + acc[5], s23 = acc[2] + acc[6],
              s34 = acc[3] + acc[7];
  return (s01 + s23) + (s12 + s34);
}

void linear(const float* x, const void* w, DType w_dtype, const float* bias, float* y, int M, int N,
            int K) {
  XY_CHECK(M >= 0 && N >= 0 && K >= 0);
  XY_CHECK(M == 0 || N == 0 || (x != nullptr && w != nullptr && y != nullptr));
  std::vector<float> staged;  // [K] one weight row widened to f32
  if (w_dtype != DType::kF32) staged.resize(static_cast<size_t>(K));
  const size_t row_bytes = static_cast<size_t>(K) * dtype_size(w_dtype);
  // Weight row outer, token row inner: W streams through memory once per call whatever M is,
  // and each y[m, n] is still the same dot_f32(x[m], w[n]).
  for (int n = 0; n < N; ++n) {
    const void* w_row_raw = static_cast<const char*>(w) + static_cast<size_t>(n) * row_bytes;
    const float* w_row;
    if (w_dtype == DType::kF32) {
      w_row = static_cast<const float*>(w_row_raw);
    } else {
      widen_to_f32(w_dtype, w_row_raw, staged.data(), static_cast<size_t>(K));
      w_row = staged.data();
    }
    const float b = bias != nullptr ? bias[n] : 0.0f;
    for (int m = 0; m < M; ++m) {
      const float dot = dot_f32(x + static_cast<size_t>(m) * K, w_row, K);
      y[static_cast<size_t>(m) * N + n] = bias != nullptr ? dot + b : dot;
    }
  }
}

}  // namespace xy::ref
