#include "kernels/cpu/rms_norm_cpu.h"

#include <cmath>

#include "core/check.h"
#include "core/cpu_features.h"
#include "kernels/cpu/row_split.h"

namespace xy::cpu {

bool elementwise_isa_supported(ElementwiseIsa isa) {
  return isa == ElementwiseIsa::kScalar || cpu_features().has_avx2_fma_f16c();
}

ElementwiseIsa best_elementwise_isa() {
  return elementwise_isa_supported(ElementwiseIsa::kAvx2) ? ElementwiseIsa::kAvx2
                                                          : ElementwiseIsa::kScalar;
}

namespace detail {

void rms_norm_row_scalar(const float* x, const float* weight, float* y, int dim, float eps) {
  // ref::dot_f32(x, x, dim): eight lanes, unfused multiply then add, fixed combining tree.
  constexpr int kLanes = 8;
  float acc[kLanes] = {};
  int k = 0;
  for (; k + kLanes <= dim; k += kLanes) {
    for (int l = 0; l < kLanes; ++l) acc[l] += x[k + l] * x[k + l];
  }
  for (int l = 0; k < dim; ++k, ++l) acc[l] += x[k] * x[k];
  const float s01 = acc[0] + acc[4], s12 = acc[1] + acc[5], s23 = acc[2] + acc[6],
              s34 = acc[3] + acc[7];
  const float sum = (s01 + s23) + (s12 + s34);
  const float inv_rms = 1.0f / std::sqrt(sum / static_cast<float>(dim) + eps);
  for (int i = 0; i < dim; ++i) y[i] = weight[i] * (x[i] * inv_rms);
}

RmsNormRowFn rms_norm_row_fn(ElementwiseIsa isa) {
  XY_CHECK_MSG(elementwise_isa_supported(isa), "rms_norm: ISA not supported by this CPU");
  return isa == ElementwiseIsa::kAvx2 ? &rms_norm_row_avx2 : &rms_norm_row_scalar;
}

}  // namespace detail

void rms_norm(const float* x, int64_t ldx, const float* weight, float* y, int64_t ldy, int rows,
              int dim, float eps, WorkerPool& pool, ElementwiseIsa isa) {
  XY_CHECK(rows >= 0 && dim > 0);
  if (rows == 0) return;
  XY_CHECK(x != nullptr && weight != nullptr && y != nullptr);
  if (ldx == 0) ldx = dim;
  if (ldy == 0) ldy = dim;
  XY_CHECK(ldx >= dim && ldy >= dim);
  XY_CHECK_MSG(x != y || ldx == ldy, "in-place rms_norm needs ldx == ldy");
  const detail::RmsNormRowFn row_fn = detail::rms_norm_row_fn(isa);
  // ~4 rows of a 2k-wide model per task keeps the wake-up cost of the pool below the work.
  const int min_rows = std::max(1, 8192 / dim);
  for_row_ranges(pool, rows, min_rows, [&](int begin, int end) {
    for (int r = begin; r < end; ++r) row_fn(x + r * ldx, weight, y + r * ldy, dim, eps);
  });
}

}  // namespace xy::cpu
