#include "model/token_table_builder.h"

#include "core/check.h"

namespace xy {

TokenTableBuilder::TokenTableBuilder(int block_size) : block_size_(block_size) {
  XY_CHECK(block_size > 0);
}

int TokenTableBuilder::add_segment(int seq_id, SegmentKind kind, std::span<const int32_t> tokens,
                                   int kv_len, std::span<const int32_t> blocks, LogitRows logits) {
  return append(seq_id, kind, tokens, kv_len, blocks, {}, logits);
}

int TokenTableBuilder::add_tree_segment(int seq_id, std::span<const int32_t> tokens, int kv_len,
                                        std::span<const int32_t> blocks,
                                        std::span<const uint8_t> mask,
                                        std::span<const int32_t> depth, LogitRows logits) {
  XY_CHECK(mask.size() == tokens.size() * tokens.size() && depth.size() == tokens.size());
  const int offset = static_cast<int>(table_.spec_masks.size());
  table_.spec_masks.insert(table_.spec_masks.end(), mask.begin(), mask.end());
  const int start = append(seq_id, SegmentKind::kVerify, tokens, kv_len, blocks, depth, logits);
  table_.segments.back().spec_mask_offset = offset;
  return start;
}

int TokenTableBuilder::append(int seq_id, SegmentKind kind, std::span<const int32_t> tokens,
                              int kv_len, std::span<const int32_t> blocks,
                              std::span<const int32_t> depth, LogitRows logits) {
  const int n = static_cast<int>(tokens.size());
  XY_CHECK(n > 0 && kv_len >= 0);
  XY_CHECK_MSG(static_cast<int64_t>(blocks.size()) * block_size_ >= kv_len + n,
               "block table too short for the segment");
  Segment seg;
  seg.seq_id = seq_id;
  seg.kind = kind;
  seg.start = table_.num_tokens();
  seg.num_tokens = n;
  seg.kv_len = kv_len;
  seg.block_table_offset = static_cast<int>(table_.block_tables.size());
  seg.num_blocks = static_cast<int>(blocks.size());
  table_.block_tables.insert(table_.block_tables.end(), blocks.begin(), blocks.end());
  for (int j = 0; j < n; ++j) {
    const int logical = kv_len + j;
    table_.token_ids.push_back(tokens[static_cast<size_t>(j)]);
    table_.positions.push_back(depth.empty() ? logical : kv_len + depth[static_cast<size_t>(j)]);
    table_.slot_mapping.push_back(
        static_cast<int64_t>(blocks[static_cast<size_t>(logical / block_size_)]) * block_size_ +
        logical % block_size_);
    const bool wants = logits == LogitRows::kAll || (logits == LogitRows::kLast && j == n - 1);
    if (wants) table_.logit_rows.push_back(seg.start + j);
  }
  table_.segments.push_back(seg);
  return seg.start;
}

TokenTable make_single_sequence_table(std::span<const int32_t> tokens, int kv_len,
                                      std::span<const int32_t> block_ids, int block_size,
                                      bool all_logits) {
  TokenTableBuilder builder(block_size);
  const SegmentKind kind =
      tokens.size() == 1 && kv_len > 0 ? SegmentKind::kDecode : SegmentKind::kPrefill;
  builder.add_segment(0, kind, tokens, kv_len, block_ids,
                      all_logits ? LogitRows::kAll : LogitRows::kLast);
  return builder.take();
}

}  // namespace xy
