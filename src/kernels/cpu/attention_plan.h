// The meta-attention plan (the attention Task-Table of ARCHITECTURE.md): computed once per step
// from the TokenTable on the host, reused by every layer's run_attention (meta_attention.h).
//
// Usage:
//   const AttentionShape shape{n_heads, n_kv_heads, head_dim, block_size, sliding_window};
//   const AttentionPlan plan = plan_attention(table, shape, pool.num_workers());
//   for (int l = 0; l < n_layers; ++l) run_attention(plan, table, q, cache.layer(l), out, pool,
//   ws);
//
// Tiles are (segment, token rows, kv_head): a tile serves every query head of one KV head
// (GQA packing) for a run of token rows of one segment. Decode tiles have 1 row, verify tiles
// cover the whole draft (up to max_verify_tile_rows), prefill tiles have
// max(1, prefill_tile_queries / group) rows. A tile's load is rows x group x visible KV length.
//
// Numerics (batch invariance): every row's attention is ALWAYS computed as fixed-size KV chunks
// of `kv_chunk` logical key indices ([c * kv_chunk, (c + 1) * kv_chunk), a function of the key's
// index in its own sequence only), each reduced with an exact softmax to a partial (max, sum,
// unnormalized accumulator) and merged in increasing chunk order. Splitting a heavy tile's chunk
// range across workers (split-KV) only changes which worker computes a chunk, never the
// arithmetic, so a row's output is bit-identical whatever else is in the step, the number of
// workers, the split, or how the prompt was chunked into steps (for a fixed ISA).
//
// Tree verify rows: a node's visible segment keys (its ancestors and itself, the plan's
// tree_path) are placed at logical indices kv_len, kv_len + 1, ... in root-to-node order, as
// they would be in a chain of the same tokens; masked siblings take no index. So a tree node's
// chunks, lanes and merge order, hence its output bits, are those of the same tokens decoded one
// by one (or verified as a chain).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/token_table.h"

namespace xy::cpu {

struct AttentionShape {
  int n_heads = 0;     // query heads; a multiple of n_kv_heads
  int n_kv_heads = 0;  // KV heads of the cache
  int head_dim = 0;    // elements per head (any positive value; multiples of 8 vectorize fully)
  int block_size = 0;  // tokens per KV block of the cache
  // Mistral-style window: a query at position p sees keys at positions > p - sliding_window.
  // 0: unlimited (as ref::AttentionParams).
  int sliding_window = 0;
  // Softmax scale; 0 means 1 / sqrt(head_dim) computed in double (as the model and HF do).
  float scale = 0.0f;

  int group() const { return n_heads / n_kv_heads; }
  float effective_scale() const;
};

struct AttentionPlanOptions {
  // Logical key indices per KV chunk: part of the numerics (changing it changes the bits), never
  // of the scheduling. Must be >= 1.
  int kv_chunk = 256;
  int prefill_tile_queries = 64;  // query vectors (rows x group) per prefill tile, at least 1 row
  int max_verify_tile_rows = 64;  // verify segments longer than this use several tiles
  // Split-KV: a tile whose load exceeds the per-worker fair share (total load / workers) is cut
  // into pieces of whole chunks, each about one fair share. false: never split (tests).
  bool allow_split = true;
};

// One tile: query heads [kv_head * group, (kv_head + 1) * group) of rows
// [segment.start + row_begin, + num_rows) against KV chunks [chunk_begin, chunk_end).
struct AttentionTile {
  int segment = 0;
  int kv_head = 0;
  int row_begin = 0;  // first row, relative to the segment's start
  int num_rows = 0;
  int chunk_begin = 0;  // [chunk_begin, chunk_end): every chunk holding a key some row may see
  int chunk_end = 0;
  // One past the last logical key index some row may see (chains: kv_len + row_begin +
  // num_rows; trees: kv_len + the longest tree_path of the rows, at least 1).
  int key_end = 0;
  int64_t load = 0;  // num_rows x group x visible keys (summed over rows)
  // Split tiles only: index into AttentionPlan::splits, else -1.
  int split = -1;
};

// A piece of work for one worker: chunks [chunk_begin, chunk_end) of tile `tile`. For unsplit
// tiles the item covers the tile's whole chunk range and writes out directly; for split tiles it
// writes per-chunk partials that the merge phase combines in chunk order.
struct AttentionWorkItem {
  int tile = 0;
  int chunk_begin = 0;
  int chunk_end = 0;
  int64_t load = 0;
};

// A split tile's per-chunk partial storage in the workspace: for chunk c of the tile and query
// vector v (row-major over rows x group), floats
// [offset + ((c - tile.chunk_begin) * queries + v) * (head_dim + 2), + head_dim + 2).
struct AttentionSplit {
  int tile = 0;
  int64_t partial_offset = 0;  // floats
};

struct AttentionPlan {
  AttentionShape shape;
  AttentionPlanOptions options;
  int num_workers = 1;
  std::vector<AttentionTile> tiles;      // in (segment, kv_head, row_begin) order
  std::vector<AttentionWorkItem> items;  // sorted by load descending (ties: creation order)
  // Worker w runs items worker_items[worker_begin[w] .. worker_begin[w + 1]) in that order;
  // items are dealt in snake order 0, 1, ..., W-1, W-1, ..., 1, 0, 0, 1, ...
  std::vector<int> worker_begin;  // [num_workers + 1]
  std::vector<int> worker_items;  // [items.size()] item indices
  std::vector<AttentionSplit> splits;
  int64_t partial_floats = 0;  // workspace floats all split tiles' partials need
  int max_tile_queries = 0;    // largest rows x group of any tile (workspace sizing)
  int64_t total_load = 0;
  // Tree verify segments: row i of tree segment s sees, besides its cached keys, the segment
  // tokens tree_keys[tree_key_begin[tree_row0[s] + i] .. tree_key_begin[tree_row0[s] + i + 1])
  // (indices within the segment: the mask row's ones, ordered by position, then index).
  std::vector<int> tree_row0;           // [segments], -1 for chains
  std::vector<int32_t> tree_key_begin;  // [tree rows + 1]
  std::vector<int32_t> tree_keys;

  bool has_splits() const { return !splits.empty(); }
  // Segment keys row `row` of tree segment `segment` sees, in chain order (see above).
  std::span<const int32_t> tree_path(int segment, int row) const {
    const size_t r = static_cast<size_t>(tree_row0[static_cast<size_t>(segment)] + row);
    return {tree_keys.data() + tree_key_begin[r],
            static_cast<size_t>(tree_key_begin[r + 1] - tree_key_begin[r])};
  }
};

// Builds the plan. The table must be valid (validate_token_table); a shape that is inconsistent
// (non-positive sizes, n_heads % n_kv_heads != 0) or num_workers < 1 is an XY_CHECK failure.
// Cost: O(tiles log tiles), no per-key work. Thread-safe (pure function).
AttentionPlan plan_attention(const TokenTable& table, const AttentionShape& shape, int num_workers,
                             const AttentionPlanOptions& options = {});

}  // namespace xy::cpu
