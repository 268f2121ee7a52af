// Internal interface between the meta-attention driver (meta_attention.cpp) and its per-ISA
// inner loops (meta_attention_scalar.cpp, meta_attention_avx2.cpp). Not for use outside
// src/kernels/cpu. Every function's result for an element depends only on its own inputs and on
// n (never on which tile or worker calls it), which the batch-invariance contract relies on.
#pragma once

#include <cstddef>

#include "core/dtype.h"

namespace xy::cpu::detail {

struct AttentionKernels {
  // out[j] = (sum_d q[d] * k[j * hd + d]) * scale for j in [0, n_keys): each key's dot product
  // is the same operation sequence whatever n_keys and j (no cross-key reassociation).
  void (*dot_keys)(const float* q, const float* k, int n_keys, int hd, float scale, float* out);
  // Exact softmax numerator of one chunk's scores, in place: *max = max_j s[j] (-inf when every
  // s[j] is -inf, then *sum = 0 and s is left as is); else s[j] = exp(s[j] - max) (0 for
  // s[j] = -inf) and *sum = sum_j s[j]. n is a multiple of 8 (callers pad with -inf).
  void (*softmax_numerator)(float* s, int n, float* max, float* sum);
  // For each query vector u in [0, nq): acc_u[d] += p_u[j] * v[j * hd + d] for j = 0, 1, ...,
  // n_keys - 1 in that order (acc_u = acc + u * acc_stride, p_u = p + u * p_stride). Keys with
  // p_u[j] == 0 are not skipped (acc never holds -0, so adding a zero product leaves it
  // unchanged); per element the sequence is the same whatever nq and n_keys.
  void (*accumulate_values)(float* acc, size_t acc_stride, const float* p, size_t p_stride, int nq,
                            const float* v, int n_keys, int hd);
  // acc[d] = acc[d] * a + x[d] * b.
  void (*scale_add)(float* acc, float a, const float* x, float b, int n);
  // dst[i] = src[i] widened to f32 (src in dtype: f32, bf16 or f16).
  void (*widen)(DType dtype, const void* src, float* dst, size_t n);
};

const AttentionKernels& scalar_attention_kernels();
const AttentionKernels& avx2_attention_kernels();  // only call when the CPU has AVX2+FMA+F16C

}  // namespace xy::cpu::detail
