// The attention pre-processing of one layer in one pass over the fused QKV projection output:
// per token, (Qwen3) per-head RMSNorm of q and k, rotary embedding of q and k, then q to a
// contiguous buffer for attention and k, v into the paged KV cache at the token's slot (converted
// to the pool's dtype). The oracle is ref::rms_norm_heads + ref::apply_rope + ref::write_kv; the
// operation sequence is theirs (unfused multiplies and adds), so results agree bit for bit with
// the reference on every ISA path. Tokens are split over the WorkerPool (row-local: batch
// invariant).
#pragma once

#include <cstdint>

#include "core/worker_pool.h"
#include "kernels/cpu/rms_norm_cpu.h"
#include "kernels/reference/paged_kv.h"

namespace xy::cpu {

struct RopeKvArgs {
  int n_tokens = 0;
  int n_heads = 0;     // query heads
  int n_kv_heads = 0;  // key/value heads
  int head_dim = 0;    // even
  // [n_tokens, (n_heads + 2 n_kv_heads) * head_dim] f32, row stride ld_qkv floats (0 = width):
  // q heads, then k heads, then v heads (the fused QKV GEMM output). Not modified.
  const float* qkv = nullptr;
  int64_t ld_qkv = 0;
  const float* q_norm = nullptr;  // [head_dim] Qwen3 q_norm weight, or null (no q/k norm)
  const float* k_norm = nullptr;  // [head_dim], non-null exactly when q_norm is
  float norm_eps = 1e-6f;
  const float* cos = nullptr;             // [n_tokens, head_dim / 2] from ref::rope_cos_sin
  const float* sin = nullptr;             // [n_tokens, head_dim / 2]
  const int64_t* slot_mapping = nullptr;  // [n_tokens], each in [0, kv.num_slots())
  float* q_out = nullptr;                 // [n_tokens, n_heads, head_dim] f32 rotated queries
};

// Runs the pass for every token; kv receives K and V of every token at its slot. Out-of-range
// slots and shape mismatches with kv are programmer errors (XY_CHECK). Blocks until done.
void rope_qk_write_kv(const RopeKvArgs& args, const ref::PagedKvLayer& kv, WorkerPool& pool,
                      ElementwiseIsa isa = best_elementwise_isa());

namespace detail {
// out[i] = x[i]·c[i] - x[i+half]·s[i], out[i+half] = x[i+half]·c[i] + x[i]·s[i]; out may alias x.
using RotateFn = void (*)(const float* x, float* out, const float* c, const float* s, int half);
// dst[0, n) = src rounded to `dtype` (f32, bf16 or f16; nearest even).
using StoreRowFn = void (*)(const float* src, void* dst, DType dtype, int n);
void rotate_scalar(const float* x, float* out, const float* c, const float* s, int half);
void rotate_avx2(const float* x, float* out, const float* c, const float* s, int half);
void store_row_scalar(const float* src, void* dst, DType dtype, int n);
void store_row_avx2(const float* src, void* dst, DType dtype, int n);
}  // namespace detail

}  // namespace xy::cpu
