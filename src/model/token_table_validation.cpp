#include "model/token_table_validation.h"

#include <string>

namespace xy {

namespace {

std::string seg_name(size_t s) {
  return "token table: segment " + std::to_string(s);
}

Status validate_segment(const TokenTable& t, size_t s, const TokenTableLimits& limits) {
  const Segment& seg = t.segments[s];
  if (seg.num_tokens <= 0) return invalid_argument(seg_name(s) + " has no tokens");
  if (seg.kv_len < 0) return invalid_argument(seg_name(s) + " has negative kv_len");
  if (seg.block_table_offset < 0 || seg.num_blocks < 0 ||
      static_cast<size_t>(seg.block_table_offset) + static_cast<size_t>(seg.num_blocks) >
          t.block_tables.size()) {
    return invalid_argument(seg_name(s) + ": block table [" +
                            std::to_string(seg.block_table_offset) + ", +" +
                            std::to_string(seg.num_blocks) + ") lies outside block_tables (size " +
                            std::to_string(t.block_tables.size()) + ")");
  }
  const int64_t needed = static_cast<int64_t>(seg.kv_len) + seg.num_tokens;
  if (static_cast<int64_t>(seg.num_blocks) * limits.block_size < needed) {
    return invalid_argument(seg_name(s) + ": " + std::to_string(seg.num_blocks) + " blocks of " +
                            std::to_string(limits.block_size) + " tokens cannot hold kv_len " +
                            std::to_string(seg.kv_len) + " + " + std::to_string(seg.num_tokens) +
                            " tokens");
  }
  const int32_t* blocks = t.block_tables.data() + seg.block_table_offset;
  // Only the blocks attention reads must be valid; trailing reserved entries may be anything >= 0.
  const int64_t used_blocks = (needed + limits.block_size - 1) / limits.block_size;
  for (int64_t b = 0; b < used_blocks; ++b) {
    if (blocks[b] < 0 || blocks[b] >= limits.num_blocks) {
      return invalid_argument(seg_name(s) + ": block table entry " + std::to_string(b) + " = " +
                              std::to_string(blocks[b]) + " is not a block of the cache (0.." +
                              std::to_string(limits.num_blocks - 1) + ")");
    }
  }
  for (int j = 0; j < seg.num_tokens; ++j) {
    const size_t row = static_cast<size_t>(seg.start + j);
    const int64_t logical = static_cast<int64_t>(seg.kv_len) + j;
    const int64_t expect =
        static_cast<int64_t>(blocks[logical / limits.block_size]) * limits.block_size +
        logical % limits.block_size;
    if (t.slot_mapping[row] != expect) {
      return invalid_argument("token table: row " + std::to_string(row) + " (segment " +
                              std::to_string(s) + ", token " + std::to_string(j) + ") has slot " +
                              std::to_string(t.slot_mapping[row]) + ", but its block table puts " +
                              "logical index " + std::to_string(logical) + " at slot " +
                              std::to_string(expect));
    }
  }
  if (seg.spec_mask_offset >= 0) {
    const size_t n = static_cast<size_t>(seg.num_tokens);
    if (static_cast<size_t>(seg.spec_mask_offset) + n * n > t.spec_masks.size()) {
      return invalid_argument(seg_name(s) + ": spec mask at " +
                              std::to_string(seg.spec_mask_offset) + " (" + std::to_string(n) +
                              "x" + std::to_string(n) + ") lies outside spec_masks (size " +
                              std::to_string(t.spec_masks.size()) + ")");
    }
    for (size_t i = 0; i < n; ++i) {
      if (t.spec_masks[static_cast<size_t>(seg.spec_mask_offset) + i * n + i] == 0) {
        return invalid_argument(seg_name(s) + ": spec mask row " + std::to_string(i) +
                                " does not let the token see itself");
      }
    }
  } else if (seg.spec_mask_offset != -1) {
    return invalid_argument(seg_name(s) + ": spec_mask_offset must be -1 or an offset");
  }
  return Status::ok();
}

}  // namespace

Status validate_token_table(const TokenTable& t, const TokenTableLimits& limits) {
  const size_t n = t.token_ids.size();
  if (t.positions.size() != n || t.slot_mapping.size() != n) {
    return invalid_argument("token table: " + std::to_string(n) + " token ids but " +
                            std::to_string(t.positions.size()) + " positions and " +
                            std::to_string(t.slot_mapping.size()) + " slots");
  }
  if (n == 0) return invalid_argument("token table: no tokens");
  for (size_t i = 0; i < n; ++i) {
    if (t.token_ids[i] < 0 || t.token_ids[i] >= limits.vocab_size) {
      return invalid_argument("token table: row " + std::to_string(i) + " has token id " +
                              std::to_string(t.token_ids[i]) + " outside the vocabulary [0, " +
                              std::to_string(limits.vocab_size) + ")");
    }
    if (t.positions[i] < 0) {
      return invalid_argument("token table: row " + std::to_string(i) + " has negative position " +
                              std::to_string(t.positions[i]));
    }
  }
  int next_row = 0;
  for (size_t s = 0; s < t.segments.size(); ++s) {
    const Segment& seg = t.segments[s];
    if (seg.start != next_row) {
      return invalid_argument(seg_name(s) + " starts at row " + std::to_string(seg.start) +
                              ", expected " + std::to_string(next_row) +
                              " (segments must cover the rows in order, without gaps or overlap)");
    }
    if (seg.num_tokens > 0 && static_cast<size_t>(seg.start) + seg.num_tokens > n) {
      return invalid_argument(seg_name(s) + " runs past the last row " + std::to_string(n - 1));
    }
    XY_RETURN_IF_ERROR(validate_segment(t, s, limits));
    next_row += seg.num_tokens;
  }
  if (static_cast<size_t>(next_row) != n) {
    return invalid_argument("token table: segments cover " + std::to_string(next_row) + " of " +
                            std::to_string(n) + " rows");
  }
  for (size_t i = 0; i < t.logit_rows.size(); ++i) {
    if (t.logit_rows[i] < 0 || static_cast<size_t>(t.logit_rows[i]) >= n) {
      return invalid_argument("token table: logit_rows[" + std::to_string(i) +
                              "] = " + std::to_string(t.logit_rows[i]) + " is not a row");
    }
  }
  return Status::ok();
}

}  // namespace xy
