#include "kernels/reference/rms_norm.h"

#include <cmath>

#include "core/check.h"
#include "kernels/reference/linear.h"

namespace xy::ref {

void rms_norm(const float* x, const float* weight, float* y, int rows, int dim, float eps) {
  XY_CHECK(rows >= 0 && dim > 0);
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<size_t>(r) * dim;
    float* yr = y + static_cast<size_t>(r) * dim;
    const float mean_sq = dot_f32(xr, xr, dim) / static_cast<float>(dim);
    const float inv_rms = 1.0f / std::sqrt(mean_sq + eps);
    // HF multiplies the normalized value (still f32) by the weight, in that order.
    for (int i = 0; i < dim; ++i) yr[i] = weight[i] * (xr[i] * inv_rms);
  }
}

void rms_norm_heads(const float* x, const float* weight, float* y, int n_tokens, int n_heads,
                    int head_dim, float eps) {
  rms_norm(x, weight, y, n_tokens * n_heads, head_dim, eps);
}

}  // namespace xy::ref
