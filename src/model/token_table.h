// The Token-Table: everything the model sees of one scheduler step (ARCHITECTURE.md, "Key
// structures"). Several sequences' tokens are concatenated; each sequence contributes one
// segment (a prefill chunk, a single decode token, or a speculative verify segment).
#pragma once

#include <cstdint>
#include <vector>

namespace xy {

enum class SegmentKind : uint8_t { kPrefill, kDecode, kVerify };

struct Segment {
  int seq_id = 0;        // caller's id, for tracing only
  SegmentKind kind = SegmentKind::kPrefill;
  int start = 0;         // first row of this segment in TokenTable::token_ids
  int num_tokens = 0;    // rows [start, start + num_tokens)
  int kv_len = 0;        // tokens of this sequence already in the KV cache before this step
  int block_table_offset = 0;  // this sequence's blocks: block_tables[offset, offset + num_blocks)
  int num_blocks = 0;          // must cover kv_len + num_tokens slots
  // Tree verify only: offset into spec_masks of a row-major [num_tokens x num_tokens] 0/1 mask;
  // mask[i][j] = 1 when segment token i may attend to segment token j. -1: causal (chain).
  int spec_mask_offset = -1;
};

// Logical KV index of segment token j is kv_len + j: token i of a segment attends to all of the
// kv_len cached tokens plus the segment tokens j <= i (or those its spec mask allows).
struct TokenTable {
  std::vector<int32_t> token_ids;     // [n_tokens]
  std::vector<int32_t> positions;     // [n_tokens] RoPE position (kv_len + depth for trees)
  std::vector<int64_t> slot_mapping;  // [n_tokens] physical KV slot = block_id * block_size + offset
  std::vector<Segment> segments;      // ordered by start, covering all rows exactly once
  std::vector<int32_t> block_tables;  // flat per-segment block ids
  std::vector<uint8_t> spec_masks;    // flat tree masks of verify segments
  std::vector<int32_t> logit_rows;    // rows whose logits the forward returns, in this order

  int num_tokens() const { return static_cast<int>(token_ids.size()); }
};

}  // namespace xy
