// RMSNorm on the CPU: y = weight * (x * rsqrt(mean(x²) + eps)) per row, the same operation
// sequence as xy::ref::rms_norm (its sum of squares is ref::dot_f32's eight-lane order, products
// and sums unfused), so the AVX2 path, the scalar fallback and the reference agree bit for bit.
// Rows are split over the WorkerPool; a row's result never depends on the other rows.
#pragma once

#include "core/worker_pool.h"

namespace xy::cpu {

enum class ElementwiseIsa : unsigned char { kScalar, kAvx2 };

// The widest path this CPU runs (AVX2+FMA+F16C when present, else scalar).
ElementwiseIsa best_elementwise_isa();
bool elementwise_isa_supported(ElementwiseIsa isa);

// Normalizes each of `rows` rows of x.
//   x, y:   [rows, dim] f32, row strides ldx / ldy floats (0 = dim); y may alias x (same stride)
//   weight: [dim] f32
// Blocks until done. Thread: the pool's caller thread.
void rms_norm(const float* x, int64_t ldx, const float* weight, float* y, int64_t ldy, int rows,
              int dim, float eps, WorkerPool& pool, ElementwiseIsa isa = best_elementwise_isa());

namespace detail {
// One row: y[0, dim) from x[0, dim). y may alias x. (The per-ISA kernels; also used by the fused
// q/k-norm of rope_kv_cpu.)
using RmsNormRowFn = void (*)(const float* x, const float* weight, float* y, int dim, float eps);
RmsNormRowFn rms_norm_row_fn(ElementwiseIsa isa);
void rms_norm_row_scalar(const float* x, const float* weight, float* y, int dim, float eps);
void rms_norm_row_avx2(const float* x, const float* weight, float* y, int dim, float eps);
}  // namespace detail

}  // namespace xy::cpu
