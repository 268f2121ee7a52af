// Sizing the KV block pool from a memory budget (--kv-cache-memory): how many bytes one block of
// block_size tokens takes across the whole model, and how many blocks a budget holds.
#pragma once

#include <cstdint>

#include "core/dtype.h"
#include "core/status.h"
#include "model/model_config.h"

namespace xy {

// K and V of every layer and KV head for block_size tokens, in bytes. The model's layer / head
// counts and the block size must be positive (checked).
int64_t kv_block_bytes(const ModelConfig& model, int block_size, DType kv_dtype);

// floor(budget_bytes / kv_block_bytes), capped at INT32_MAX. kInvalidArgument for a non-positive
// budget or block size or a model without layers / KV heads; kResourceExhausted when the budget
// does not hold a single block (the message gives both sizes).
Result<int> kv_num_blocks_for_budget(int64_t budget_bytes, const ModelConfig& model, int block_size,
                                     DType kv_dtype);

}  // namespace xy
