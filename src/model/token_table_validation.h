// The checks a TokenTable must pass before a forward pass touches memory with it. Everything the
// scheduler (or a user through the CLI) can get wrong is reported here as kInvalidArgument, so
// the kernels may treat a violated bound as a programmer error.
#pragma once

#include "core/status.h"
#include "model/token_table.h"

namespace xy {

struct TokenTableLimits {
  int vocab_size = 0;  // token ids must lie in [0, vocab_size)
  int num_blocks = 0;  // block ids must lie in [0, num_blocks)
  int block_size = 0;  // tokens per KV block
};

// Checks, naming the offending segment / row / entry:
//   - token_ids, positions and slot_mapping have one entry per row; positions are >= 0;
//   - segments are ordered by start and cover rows [0, n_tokens) exactly once, each non-empty;
//   - each segment's block table lies inside block_tables, holds valid block ids, and has
//     enough blocks for kv_len + num_tokens tokens;
//   - every row's slot is the slot its segment's block table gives logical index kv_len + j
//     (so attention finds what the step writes);
//   - spec masks lie inside spec_masks and let every token see itself;
//   - logit rows are valid rows.
Status validate_token_table(const TokenTable& table, const TokenTableLimits& limits);

}  // namespace xy
