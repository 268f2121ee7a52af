// Dense projection y = x·Wᵀ (+ bias): the reference for every linear layer (SmoothGEMM's oracle).
#pragma once

#include "core/dtype.h"

namespace xy::ref {

// y[M, N] = x[M, K] · w[N, K]ᵀ (+ bias[N] when bias != nullptr).
//   x:    [M, K] f32, row-major
//   w:    [N, K] in w_dtype (f32, bf16 or f16), row-major: the Hugging Face nn.Linear layout
//   bias: [N] f32 or nullptr
//   y:    [M, N] f32; must not alias x
// Batch invariance: every output element is one dot product over K in a fixed order that does not
// depend on M or on the other rows, so a token's result is bitwise the same in any batch.
// Single-threaded; no allocation beyond one K-float staging row for non-f32 weights.
void linear(const float* x, const void* w, DType w_dtype, const float* bias, float* y, int M, int N,
            int K);

// The fixed-order f32 dot product linear() uses for one output element (exposed for tests and for
// kernels that must reproduce the reference bit for bit).
float dot_f32(const float* a, const float* b, int n);

}  // namespace xy::ref
