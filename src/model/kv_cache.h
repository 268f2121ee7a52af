// Paged KV cache storage: per layer one K pool and one V pool of fixed-size blocks (layout in
// kernels/reference/paged_kv.h: [num_blocks][n_kv_heads][block_size][head_dim]). This class only
// stores; which block belongs to which sequence is the engine's business (its block allocator and
// the block tables of each TokenTable).
#pragma once

#include <vector>

#include "core/aligned_buffer.h"
#include "core/dtype.h"
#include "core/status.h"
#include "kernels/reference/paged_kv.h"

namespace xy {

struct ModelConfig;

struct KvCacheShape {
  int num_layers = 0;
  int num_blocks = 0;
  int block_size = 16;  // tokens per block
  int n_kv_heads = 0;
  int head_dim = 0;
  DType dtype = DType::kF32;  // f32, bf16, f16 or int8 (codes + one f32 scale per row)
};

class KvCache {
 public:
  // Allocates (zeroed) pools. kInvalidArgument for non-positive sizes, kResourceExhausted when the
  // memory cannot be allocated or the size overflows.
  static Result<KvCache> create(const KvCacheShape& shape);
  // The shape a model of `config` needs, with the caller's block count, block size and dtype.
  static KvCacheShape shape_for(const ModelConfig& config, int num_blocks, int block_size,
                                DType dtype);

  const KvCacheShape& shape() const { return shape_; }
  int num_blocks() const { return shape_.num_blocks; }
  int block_size() const { return shape_.block_size; }
  int64_t num_slots() const { return static_cast<int64_t>(shape_.num_blocks) * shape_.block_size; }
  size_t bytes_per_block() const;  // bytes, K and V of all layers together
  size_t size_bytes() const;       // bytes, all pools

  // A mutable view of layer `layer`'s pools; valid while this cache lives (pools never move, also
  // not when the KvCache object itself is moved). Not synchronized: one step at a time.
  ref::PagedKvLayer layer(int layer);

  // Copies slots [0, num_tokens) of src_block into the same slots of dst_block, K and V of every
  // layer (prefix-cache copy-on-write of a partly matched block). kInvalidArgument for a block
  // outside the cache, src == dst, or num_tokens outside [0, block_size].
  Status copy_block_prefix(int src_block, int dst_block, int num_tokens);

 private:
  KvCache() = default;
  KvCacheShape shape_;
  std::vector<AlignedBuffer>
      k_pools_;  // [num_layers] each [num_blocks][n_kv_heads][block_size][head_dim]
  std::vector<AlignedBuffer> v_pools_;  // [num_layers] same
  // int8 caches only: [num_layers] each [num_blocks][n_kv_heads][block_size] f32 row scales.
  std::vector<AlignedBuffer> k_scales_;
  std::vector<AlignedBuffer> v_scales_;
};

}  // namespace xy
