#include "engine/scheduler/token_table_builder.h"

#include <algorithm>

#include "core/check.h"

namespace xy {

void append_tree_mask(std::span<const int32_t> parents, std::vector<uint8_t>& masks,
                      std::vector<int32_t>& depth) {
  const size_t n = parents.size() + 1;  // row 0 is the root
  const size_t base = masks.size();
  masks.resize(base + n * n, 0);
  depth.assign(n, 0);
  uint8_t* mask = masks.data() + base;
  mask[0] = 1;
  for (size_t i = 1; i < n; ++i) {
    const int32_t parent_draft = parents[i - 1];
    XY_CHECK(parent_draft >= -1 && parent_draft < static_cast<int32_t>(i - 1));
    const size_t parent = static_cast<size_t>(parent_draft + 1);
    // Row i sees itself and everything its parent sees (its ancestors up to the root).
    std::copy(mask + parent * n, mask + parent * n + n, mask + i * n);
    mask[i * n + i] = 1;
    depth[i] = depth[parent] + 1;
  }
}

TokenTable build_token_table(const ScheduleDecision& decision, int block_size) {
  XY_CHECK(block_size >= 1);
  TokenTable table;
  const size_t rows = static_cast<size_t>(decision.num_batched_tokens());
  table.token_ids.reserve(rows);
  table.positions.reserve(rows);
  table.slot_mapping.reserve(rows);
  table.segments.reserve(decision.segments.size());

  for (const ScheduledSegment& scheduled : decision.segments) {
    const Sequence& seq = *scheduled.seq;
    const std::vector<int32_t>& blocks = seq.block_table();
    const int end = scheduled.kv_len + scheduled.num_tokens;  // logical KV length after the step
    const int num_blocks = (end + block_size - 1) / block_size;
    XY_CHECK_MSG(num_blocks <= static_cast<int>(blocks.size()), "block table too short");

    Segment segment;
    segment.seq_id = static_cast<int>(seq.id());
    segment.kind = scheduled.kind;
    segment.start = table.num_tokens();
    segment.num_tokens = scheduled.num_tokens;
    segment.kv_len = scheduled.kv_len;
    segment.block_table_offset = static_cast<int>(table.block_tables.size());
    segment.num_blocks = num_blocks;
    table.block_tables.insert(table.block_tables.end(), blocks.begin(),
                              blocks.begin() + num_blocks);

    // A tree verify (drafts with parents) gets a spec mask and depth positions; the granted
    // prefix of a topologically ordered tree is a tree.
    const bool tree = scheduled.kind == SegmentKind::kVerify && !seq.draft_parents().empty();
    std::vector<int32_t> depth;
    if (tree) {
      segment.spec_mask_offset = static_cast<int>(table.spec_masks.size());
      append_tree_mask(seq.draft_parents().first(static_cast<size_t>(scheduled.num_draft_tokens)),
                       table.spec_masks, depth);
    }
    for (int j = 0; j < scheduled.num_tokens; ++j) {
      const int slot_index = scheduled.kv_len + j;
      const int pos = tree ? scheduled.kv_len + depth[static_cast<size_t>(j)] : slot_index;
      // Prefill and decode rows are the sequence's own uncomputed tokens; verify rows after the
      // first are the drafts.
      int32_t token;
      if (scheduled.kind == SegmentKind::kVerify && j > 0) {
        token = seq.draft_tokens()[static_cast<size_t>(j - 1)];
      } else {
        XY_CHECK(slot_index < seq.num_tokens());
        token = seq.tokens()[static_cast<size_t>(slot_index)];
      }
      table.token_ids.push_back(token);
      table.positions.push_back(pos);
      table.slot_mapping.push_back(static_cast<int64_t>(blocks[slot_index / block_size]) *
                                       block_size +
                                   slot_index % block_size);
    }
    if (scheduled.kind == SegmentKind::kVerify) {
      for (int j = 0; j < scheduled.num_tokens; ++j) table.logit_rows.push_back(segment.start + j);
    } else if (scheduled.needs_logits()) {
      table.logit_rows.push_back(segment.start + scheduled.num_tokens - 1);
    }
    table.segments.push_back(segment);
  }
  return table;
}

}  // namespace xy
