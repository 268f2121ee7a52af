// A KV copy the engine applies to the KV storage before a step's forward: slots
// [0, num_tokens) of src_block, K and V of every layer, into the same slots of dst_block. Made by
// prefix-cache copy-on-write; src_block stays allocated until the next scheduler step begins.
#pragma once

#include <cstdint>

namespace xy {

struct KvCopyOp {
  int32_t src_block = -1;
  int32_t dst_block = -1;
  int32_t num_tokens = 0;  // in [1, block_size)
};

}  // namespace xy
