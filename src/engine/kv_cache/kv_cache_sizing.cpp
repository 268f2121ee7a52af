#include "engine/kv_cache/kv_cache_sizing.h"

#include <algorithm>
#include <limits>
#include <string>

#include "core/check.h"
#include "kernels/reference/paged_kv.h"

namespace xy {

int64_t kv_block_bytes(const ModelConfig& model, int block_size, DType kv_dtype) {
  XY_CHECK(model.num_hidden_layers > 0 && model.num_key_value_heads > 0 && model.head_dim > 0);
  XY_CHECK(block_size > 0);
  const int64_t per_token_per_layer =
      2 /* K and V */ * static_cast<int64_t>(model.num_key_value_heads) *
      static_cast<int64_t>(ref::kv_row_bytes(kv_dtype, model.head_dim));
  return per_token_per_layer * model.num_hidden_layers * block_size;
}

Result<int> kv_num_blocks_for_budget(int64_t budget_bytes, const ModelConfig& model, int block_size,
                                     DType kv_dtype) {
  if (budget_bytes <= 0) {
    return invalid_argument("KV cache memory must be positive, got " +
                            std::to_string(budget_bytes) + " bytes");
  }
  if (block_size <= 0) {
    return invalid_argument("KV block size must be positive, got " + std::to_string(block_size));
  }
  if (model.num_hidden_layers <= 0 || model.num_key_value_heads <= 0 || model.head_dim <= 0) {
    return invalid_argument("model has no KV shape (layers " +
                            std::to_string(model.num_hidden_layers) + ", kv heads " +
                            std::to_string(model.num_key_value_heads) + ", head_dim " +
                            std::to_string(model.head_dim) + ")");
  }
  const int64_t block_bytes = kv_block_bytes(model, block_size, kv_dtype);
  const int64_t blocks = budget_bytes / block_bytes;
  if (blocks < 1) {
    return resource_exhausted("KV cache memory of " + std::to_string(budget_bytes) +
                              " bytes holds no KV block: one block of " +
                              std::to_string(block_size) + " tokens takes " +
                              std::to_string(block_bytes) + " bytes");
  }
  return static_cast<int>(std::min<int64_t>(blocks, std::numeric_limits<int32_t>::max()));
}

}  // namespace xy
