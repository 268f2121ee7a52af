// The paged KV layout every attention kernel reads: one layer's K pool and V pool, each
// [num_blocks][n_kv_heads][block_size][head_dim] ("HND" per block, as FlashInfer's page layout), so
// one head's rows of a block are contiguous. A token with logical index L in a sequence whose
// block table is bt lives in block bt[L / block_size] at row L % block_size; its "slot" is
// bt[L / block_size] * block_size + L % block_size.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

namespace xy::ref {

// A non-owning view of one layer's pools (owned by model/KvCache). Valid while the cache lives.
struct PagedKvLayer {
  void* k = nullptr;          // [num_blocks][n_kv_heads][block_size][head_dim] in dtype
  void* v = nullptr;          // same shape
  DType dtype = DType::kF32;  // f32, bf16, f16 or int8
  int num_blocks = 0;
  int block_size = 0;  // tokens per block
  int n_kv_heads = 0;
  int head_dim = 0;
  // int8 pools only: the f32 scale of every (slot, head) row, [num_blocks][n_kv_heads][block_size]
  // at row_index(slot, head); the row holds head_dim codes q with value scale * q.
  float* k_scale = nullptr;
  float* v_scale = nullptr;

  int64_t num_slots() const { return static_cast<int64_t>(num_blocks) * block_size; }
  // Element offset of (slot, head)'s head_dim-wide row inside the K (or V) pool.
  size_t row_offset(int64_t slot, int head) const {
    const int64_t block = slot / block_size;
    const int64_t in_block = slot % block_size;
    return static_cast<size_t>(((block * n_kv_heads + head) * block_size + in_block) * head_dim);
  }
  // Index of (slot, head)'s row among all rows of the pool (its scale's index for int8 pools).
  size_t row_index(int64_t slot, int head) const {
    return row_offset(slot, head) / static_cast<size_t>(head_dim);
  }
  // The int8 row scales that go with `pool` (k or v); null for other dtypes.
  float* scales_of(const void* pool) const { return pool == k ? k_scale : v_scale; }
};

// Bytes one (slot, head) row of K or V takes in a pool of `dtype`, its int8 scale included:
// the unit every KV sizing (cache allocation, the engine's block budget) multiplies.
constexpr size_t kv_row_bytes(DType dtype, int head_dim) {
  return static_cast<size_t>(head_dim) * dtype_size(dtype) +
         (dtype == DType::kI8 ? sizeof(float) : 0);
}

// The int8 KV row format: scale = max|x| / 127 and q = round-to-nearest-even(x * 127 / max|x|)
// (all zero for a zero row), so every value is within scale / 2 of scale * q.
void quantize_kv_row(const float* x, int n, int8_t* q, float* scale);
inline void dequantize_kv_row(const int8_t* q, float scale, int n, float* out) {
  for (int i = 0; i < n; ++i) out[i] = scale * float(q[i]);
}

// Stores x[0, head_dim) as (slot, head)'s row of `pool` (layer.k or layer.v) in the pool's dtype:
// rounded to nearest even for bf16/f16, quantize_kv_row (codes and scale) for int8.
void store_kv_row(const PagedKvLayer& layer, void* pool, int64_t slot, int head, const float* x);

// Copies every head's K and V row (and int8 scales) of slot `src` to slot `dst`.
void copy_kv_slot(const PagedKvLayer& layer, int64_t src, int64_t dst);

// Stores each token's K and V heads at its slot, converting f32 to the pool dtype (bf16/f16 round
// to nearest even; int8 as quantize_kv_row).
//   k, v:         [n_tokens, n_kv_heads, head_dim] f32
//   slot_mapping: [n_tokens], each in [0, layer.num_slots()) (checked: programmer error otherwise)
void write_kv(const float* k, const float* v, const int64_t* slot_mapping, int n_tokens,
              const PagedKvLayer& layer);

// Reads one (slot, head) row of K or V widened to f32.   out: [head_dim]
void read_kv_row(const void* pool, const PagedKvLayer& layer, int64_t slot, int head, float* out);

}  // namespace xy::ref
