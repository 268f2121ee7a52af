// Internal interface between the meta-attention drivers (meta_attention.cpp,
// meta_attention_bf16.cpp) and their per-ISA inner loops (meta_attention_scalar.cpp,
// meta_attention_avx2.cpp, meta_attention_avx512.cpp). Not for use outside
// src/kernels/cpu. Every function's result for an element depends only on its own inputs and on
// n (never on which tile or worker calls it), which the batch-invariance contract relies on.
#pragma once

#include <cstddef>
#include <cstdint>

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

// The vdpbf16ps inner loops (AttentionIsa::kAvx512Bf16) on a bf16 KV cache, read in place
// through one row pointer per key (no widening pass). Operands are bf16 pairs (uint32_t: element
// 2i in the low half, 2i+1 in the high half); accumulation is f32. head_dim is a multiple of 32.
// As above, an element's result depends only on its own inputs: a key's score never on the
// other keys of the call, an output element's sum only on its own (p, v) pairs in key order,
// paired (0,1), (2,3), ... from the first key of the call, a missing partner counting as zero.
struct AttentionBf16Kernels {
  // out[i] = pair (x[2i], x[2i+1]) rounded to bf16 (nearest even), i < n / 2; n even.
  void (*round_pairs)(const float* x, int n, uint32_t* out);
  // out_u[j] = (sum over pairs of q_u · k_rows[j]) * scale for query vectors u in [0, nq)
  // (q_u = q + u * q_stride pairs, out_u = out + u * out_stride) and j in [0, n_keys): a
  // vdpbf16ps chain of hd / 32 steps per (u, key), then its 16 lanes reduced by one fixed tree.
  // 16 keys at a time for all nq, so a group's query vectors share each K row from L1.
  void (*dot_keys)(const uint32_t* q, size_t q_stride, int nq, const uint16_t* const* k_rows,
                   int n_keys, int hd, float scale, float* out, size_t out_stride);
  // The softmax numerator of one chunk's scores s[0, n) rounded to bf16: *max = max_j s[j] (-inf
  // when all are -inf: then *sum = 0 and p is all zero); else e_j = bf16(exp(s[j] - max)) (0 for
  // -inf), *sum = sum_j e_j in f32, and p[0, ceil(n/2)) = the pairs (e_{2i}, e_{2i+1}), a missing
  // e_n counting as zero.
  void (*softmax_numerator)(const float* s, int n, float* max, float* sum, uint32_t* p);
  // For each query vector u in [0, nq): acc_u[d] += sum_j p_u[j] * v_rows[j][d] over j in
  // [0, n_keys), one vdpbf16ps per key pair (acc_u = acc + u * acc_stride, p_u = p + u * p_stride
  // in pairs, as softmax_numerator writes them).
  void (*accumulate_values)(float* acc, size_t acc_stride, const uint32_t* p, size_t p_stride,
                            int nq, const uint16_t* const* v_rows, int n_keys, int hd);
};

// Only call when the CPU has AVX-512 F/BW/VL and AVX512_BF16.
const AttentionBf16Kernels& avx512_bf16_attention_kernels();

}  // namespace xy::cpu::detail
