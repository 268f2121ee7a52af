#include "engine/scheduler/token_table_builder.h"

#include "core/check.h"

namespace xy {

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

    for (int j = 0; j < scheduled.num_tokens; ++j) {
      const int pos = scheduled.kv_len + j;
      // Prefill and decode rows are the sequence's own uncomputed tokens; verify rows after the
      // first are the drafts.
      int32_t token;
      if (scheduled.kind == SegmentKind::kVerify && j > 0) {
        token = seq.draft_tokens()[static_cast<size_t>(j - 1)];
      } else {
        XY_CHECK(pos < seq.num_tokens());
        token = seq.tokens()[static_cast<size_t>(pos)];
      }
      table.token_ids.push_back(token);
      table.positions.push_back(pos);
      table.slot_mapping.push_back(static_cast<int64_t>(blocks[pos / block_size]) * block_size +
                                   pos % block_size);
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
