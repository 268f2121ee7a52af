// Assembles a TokenTable segment by segment, deriving positions, slot mapping and logit rows from
// each sequence's block table. Used by the CLI's generate loop, tests, and any scheduler that
// does not want to fill the flat arrays by hand.
#pragma once

#include <cstdint>
#include <span>

#include "model/token_table.h"

namespace xy {

enum class LogitRows : uint8_t {
  kNone,  // no logits for this segment (e.g. a middle prefill chunk)
  kLast,  // the segment's last token only
  kAll,   // every token (parity tests, verify segments)
};

class TokenTableBuilder {
 public:
  explicit TokenTableBuilder(int block_size);

  // Appends a causal segment of `tokens` for a sequence with kv_len tokens already cached and
  // block table `blocks` (at least ceil((kv_len + tokens.size()) / block_size) entries; all are
  // recorded). Token j gets position kv_len + j and the slot of logical index kv_len + j.
  // Returns the segment's first row. Contract violations are programmer errors (XY_CHECK).
  int add_segment(int seq_id, SegmentKind kind, std::span<const int32_t> tokens, int kv_len,
                  std::span<const int32_t> blocks, LogitRows logits);

  // Appends a tree-verify segment: mask is row-major [n x n] (mask[i][j] = 1: i sees j; tokens in
  // topological order, mask[i][i] = 1), depth[j] the token's depth below the cached prefix (root
  // depth 0), so its position is kv_len + depth[j]; slots are still kv_len + j.
  int add_tree_segment(int seq_id, std::span<const int32_t> tokens, int kv_len,
                       std::span<const int32_t> blocks, std::span<const uint8_t> mask,
                       std::span<const int32_t> depth, LogitRows logits);

  const TokenTable& table() const { return table_; }
  TokenTable take() { return std::move(table_); }

 private:
  int append(int seq_id, SegmentKind kind, std::span<const int32_t> tokens, int kv_len,
             std::span<const int32_t> blocks, std::span<const int32_t> depth, LogitRows logits);
  int block_size_;
  TokenTable table_;
};

// The common single-sequence step: one segment over a contiguous run of the sequence's blocks
// (kind kDecode for one token after a non-empty cache, else kPrefill); logits for every token when
// all_logits, else for the last one.
TokenTable make_single_sequence_table(std::span<const int32_t> tokens, int kv_len,
                                      std::span<const int32_t> block_ids, int block_size,
                                      bool all_logits);

}  // namespace xy
