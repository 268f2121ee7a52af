#include "model/kv_cache.h"

#include <cstring>
#include <limits>
#include <new>
#include <string>

#include "core/check.h"
#include "model/model_config.h"

namespace xy {

KvCacheShape KvCache::shape_for(const ModelConfig& config, int num_blocks, int block_size,
                                DType dtype) {
  return KvCacheShape{config.num_hidden_layers,   num_blocks,      block_size,
                      config.num_key_value_heads, config.head_dim, dtype};
}

Result<KvCache> KvCache::create(const KvCacheShape& shape) {
  if (shape.num_layers <= 0 || shape.num_blocks <= 0 || shape.block_size <= 0 ||
      shape.n_kv_heads <= 0 || shape.head_dim <= 0) {
    return invalid_argument(
        "KV cache: layers, blocks, block size, kv heads and head_dim must be "
        "positive (got " +
        std::to_string(shape.num_layers) + ", " + std::to_string(shape.num_blocks) + ", " +
        std::to_string(shape.block_size) + ", " + std::to_string(shape.n_kv_heads) + ", " +
        std::to_string(shape.head_dim) + ")");
  }
  // Overflow-safe pool size: every factor is positive and below 2^31.
  const unsigned __int128 pool = static_cast<unsigned __int128>(shape.num_blocks) *
                                 static_cast<unsigned>(shape.block_size) *
                                 static_cast<unsigned>(shape.n_kv_heads) *
                                 static_cast<unsigned>(shape.head_dim) * dtype_size(shape.dtype);
  if (pool * 2 * static_cast<unsigned>(shape.num_layers) >
      static_cast<unsigned __int128>(std::numeric_limits<size_t>::max() / 2)) {
    return resource_exhausted("KV cache: requested size overflows the address space");
  }
  KvCache cache;
  cache.shape_ = shape;
  try {
    cache.k_pools_.reserve(static_cast<size_t>(shape.num_layers));
    cache.v_pools_.reserve(static_cast<size_t>(shape.num_layers));
    for (int l = 0; l < shape.num_layers; ++l) {
      cache.k_pools_.emplace_back(static_cast<size_t>(pool));
      cache.v_pools_.emplace_back(static_cast<size_t>(pool));
      if (shape.dtype == DType::kI8) {
        const size_t rows = static_cast<size_t>(pool) / static_cast<size_t>(shape.head_dim);
        cache.k_scales_.emplace_back(rows * sizeof(float));
        cache.v_scales_.emplace_back(rows * sizeof(float));
      }
    }
  } catch (const std::bad_alloc&) {
    return resource_exhausted("KV cache: cannot allocate " +
                              std::to_string(static_cast<size_t>(pool) * 2 * shape.num_layers) +
                              " bytes (" + std::to_string(shape.num_blocks) + " blocks of " +
                              std::to_string(shape.block_size) + " tokens)");
  }
  return cache;
}

size_t KvCache::bytes_per_block() const {
  return static_cast<size_t>(shape_.block_size) * shape_.n_kv_heads *
         ref::kv_row_bytes(shape_.dtype, shape_.head_dim) * 2 * shape_.num_layers;
}

size_t KvCache::size_bytes() const {
  return bytes_per_block() * shape_.num_blocks;
}

ref::PagedKvLayer KvCache::layer(int layer) {
  XY_CHECK(layer >= 0 && layer < shape_.num_layers);
  const auto i = static_cast<size_t>(layer);
  ref::PagedKvLayer view;
  view.k = k_pools_[i].data();
  view.v = v_pools_[i].data();
  view.dtype = shape_.dtype;
  if (shape_.dtype == DType::kI8) {
    view.k_scale = k_scales_[i].as<float>();
    view.v_scale = v_scales_[i].as<float>();
  }
  view.num_blocks = shape_.num_blocks;
  view.block_size = shape_.block_size;
  view.n_kv_heads = shape_.n_kv_heads;
  view.head_dim = shape_.head_dim;
  return view;
}

Status KvCache::copy_block_prefix(int src_block, int dst_block, int num_tokens) {
  const auto valid = [&](int b) { return b >= 0 && b < shape_.num_blocks; };
  if (!valid(src_block) || !valid(dst_block) || src_block == dst_block || num_tokens < 0 ||
      num_tokens > shape_.block_size) {
    return invalid_argument("KV cache: cannot copy " + std::to_string(num_tokens) +
                            " slots from block " + std::to_string(src_block) + " to block " +
                            std::to_string(dst_block) + " (" + std::to_string(shape_.num_blocks) +
                            " blocks of " + std::to_string(shape_.block_size) + ")");
  }
  // Within a block each head's rows are contiguous: one memcpy per (layer, pool, head).
  const size_t row_bytes = static_cast<size_t>(shape_.head_dim) * dtype_size(shape_.dtype);
  const size_t head_bytes = row_bytes * shape_.block_size;
  const size_t block_bytes = head_bytes * shape_.n_kv_heads;
  for (int l = 0; l < shape_.num_layers; ++l) {
    for (AlignedBuffer* pool :
         {&k_pools_[static_cast<size_t>(l)], &v_pools_[static_cast<size_t>(l)]}) {
      char* base = pool->as<char>();
      for (int h = 0; h < shape_.n_kv_heads; ++h) {
        std::memcpy(base + dst_block * block_bytes + h * head_bytes,
                    base + src_block * block_bytes + h * head_bytes, row_bytes * num_tokens);
      }
    }
    if (shape_.dtype == DType::kI8) {  // the rows' scales, laid out like the rows
      const size_t head_rows = static_cast<size_t>(shape_.block_size);
      const size_t block_rows = head_rows * shape_.n_kv_heads;
      for (AlignedBuffer* scales :
           {&k_scales_[static_cast<size_t>(l)], &v_scales_[static_cast<size_t>(l)]}) {
        float* base = scales->as<float>();
        for (int h = 0; h < shape_.n_kv_heads; ++h) {
          std::memcpy(base + dst_block * block_rows + h * head_rows,
                      base + src_block * block_rows + h * head_rows, sizeof(float) * num_tokens);
        }
      }
    }
  }
  return Status::ok();
}

}  // namespace xy
