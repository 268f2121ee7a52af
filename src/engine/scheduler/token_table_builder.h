// Turns a ScheduleDecision into the Token-Table the model runs: token ids, RoPE positions, KV
// slot mapping (from the block tables), one segment per scheduled sequence, and the rows whose
// logits are needed (the last row of a segment that samples; every row of a verify segment).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/scheduler/schedule_decision.h"
#include "model/token_table.h"

namespace xy {

// block_size: tokens per KV block (BlockManager::block_size()). A verify segment of a chain is
// causal (spec_mask_offset = -1); one whose sequence has draft_parents() gets a compact
// [1 + k, 1 + k] spec mask (row 0 = the last token, the root) and positions kv_len + depth, while
// its KV slots stay kv_len + row (the engine compacts the accepted path's KV after verifying).
TokenTable build_token_table(const ScheduleDecision& decision, int block_size);

// Appends the row-major [(k + 1) x (k + 1)] ancestor mask of a draft tree to `masks` (row/column 0
// = the root; row i = draft i - 1 whose parent is parents[i - 1], -1 = root) and sets
// depth[0..k] (root 0). parents must be topologically ordered (checked).
void append_tree_mask(std::span<const int32_t> parents, std::vector<uint8_t>& masks,
                      std::vector<int32_t>& depth);

}  // namespace xy
