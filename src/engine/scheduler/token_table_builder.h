// Turns a ScheduleDecision into the Token-Table the model runs: token ids, RoPE positions, KV
// slot mapping (from the block tables), one segment per scheduled sequence, and the rows whose
// logits are needed (the last row of a segment that samples; every row of a verify segment).
#pragma once

#include "engine/scheduler/schedule_decision.h"
#include "model/token_table.h"

namespace xy {

// block_size: tokens per KV block (BlockManager::block_size()). Chains only: verify segments get
// spec_mask_offset = -1 (causal).
TokenTable build_token_table(const ScheduleDecision& decision, int block_size);

}  // namespace xy
