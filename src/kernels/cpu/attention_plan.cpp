#include "kernels/cpu/attention_plan.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/check.h"

namespace xy::cpu {

float AttentionShape::effective_scale() const {
  if (scale != 0.0f) return scale;
  return static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
}

namespace {

// Token rows per tile for a segment: decode 1 (its GQA heads fill the tile), verify the whole
// draft up to a cap, prefill as many rows as fit prefill_tile_queries query vectors.
int tile_rows_for(const Segment& seg, int group, const AttentionPlanOptions& options) {
  switch (seg.kind) {
    case SegmentKind::kDecode:
      return 1;
    case SegmentKind::kVerify:
      return std::max(1, options.max_verify_tile_rows);
    case SegmentKind::kPrefill:
      break;
  }
  return std::max(1, options.prefill_tile_queries / group);
}

// Fills plan.tree_row0 / tree_key_begin / tree_keys: each tree row's visible segment tokens,
// ordered by position (kv_len + depth: root to node), ties by index, i.e. the order in which
// a chain of the same tokens would hold them.
void build_tree_paths(const TokenTable& table, AttentionPlan& plan) {
  plan.tree_row0.assign(table.segments.size(), -1);
  plan.tree_key_begin.assign(1, 0);
  std::vector<int32_t> row;
  for (size_t s = 0; s < table.segments.size(); ++s) {
    const Segment& seg = table.segments[s];
    if (seg.spec_mask_offset < 0) continue;
    plan.tree_row0[s] = static_cast<int>(plan.tree_key_begin.size()) - 1;
    const int n = seg.num_tokens;
    const int32_t* pos = table.positions.data() + seg.start;
    for (int i = 0; i < n; ++i) {
      const uint8_t* mask =
          table.spec_masks.data() + seg.spec_mask_offset + static_cast<size_t>(i) * n;
      row.clear();
      for (int j = 0; j < n; ++j) {
        if (mask[j] != 0) row.push_back(j);
      }
      // (pos, index) is a total order, so std::sort is deterministic; trees come in
      // topological order, so rows are usually sorted already.
      const auto before = [pos](int32_t a, int32_t b) {
        return pos[a] != pos[b] ? pos[a] < pos[b] : a < b;
      };
      if (!std::is_sorted(row.begin(), row.end(), before)) {
        std::sort(row.begin(), row.end(), before);
      }
      plan.tree_keys.insert(plan.tree_keys.end(), row.begin(), row.end());
      plan.tree_key_begin.push_back(static_cast<int32_t>(plan.tree_keys.size()));
    }
  }
}

// Visible segment keys of row i of seg: i + 1 for chains, the tree path's length for trees.
int segment_keys(const AttentionPlan& plan, int s, const Segment& seg, int i) {
  if (seg.spec_mask_offset < 0) return i + 1;
  return static_cast<int>(plan.tree_path(s, i).size());
}

// Lowest logical key index rows [r0, r0 + n) of seg may see: a lower bound from the sliding
// window (exact for cached keys, whose position is their logical index; segment keys are never
// excluded by it).
int lowest_key(const TokenTable& table, const Segment& seg, int r0, int n, int window) {
  if (window <= 0) return 0;
  int min_pos = table.positions[static_cast<size_t>(seg.start + r0)];
  for (int i = 1; i < n; ++i) {
    min_pos = std::min(min_pos,
                       static_cast<int>(table.positions[static_cast<size_t>(seg.start + r0 + i)]));
  }
  return std::min(std::max(0, min_pos - window + 1), seg.kv_len);
}

}  // namespace

AttentionPlan plan_attention(const TokenTable& table, const AttentionShape& shape, int num_workers,
                             const AttentionPlanOptions& options) {
  XY_CHECK(shape.n_heads > 0 && shape.n_kv_heads > 0 && shape.head_dim > 0 &&
           shape.block_size > 0 && shape.sliding_window >= 0);
  XY_CHECK_MSG(shape.n_heads % shape.n_kv_heads == 0, "n_heads must be a multiple of n_kv_heads");
  XY_CHECK(num_workers >= 1);
  XY_CHECK(options.kv_chunk >= 1);

  AttentionPlan plan;
  plan.shape = shape;
  plan.options = options;
  plan.num_workers = num_workers;
  const int group = shape.group();
  const int chunk = options.kv_chunk;
  build_tree_paths(table, plan);

  // Tiles in (segment, kv_head, row_begin) order.
  for (size_t s = 0; s < table.segments.size(); ++s) {
    const Segment& seg = table.segments[s];
    const int rows = tile_rows_for(seg, group, options);
    for (int kvh = 0; kvh < shape.n_kv_heads; ++kvh) {
      for (int r0 = 0; r0 < seg.num_tokens; r0 += rows) {
        AttentionTile tile;
        tile.segment = static_cast<int>(s);
        tile.kv_head = kvh;
        tile.row_begin = r0;
        tile.num_rows = std::min(rows, seg.num_tokens - r0);
        // Load: keys each row may see (exact for chains without a window).
        int max_keys = 0;
        int64_t keys = 0;
        for (int i = r0; i < r0 + tile.num_rows; ++i) {
          const int own = segment_keys(plan, static_cast<int>(s), seg, i);
          max_keys = std::max(max_keys, own);
          keys += std::max<int64_t>(
              1, seg.kv_len + own - lowest_key(table, seg, i, 1, shape.sliding_window));
        }
        // At least one key index, so that a tile whose rows see nothing still has a chunk
        // (its rows output zeros).
        tile.key_end = std::max(1, seg.kv_len + max_keys);
        tile.chunk_begin = lowest_key(table, seg, r0, tile.num_rows, shape.sliding_window) / chunk;
        tile.chunk_end = (tile.key_end - 1) / chunk + 1;
        tile.load = keys * group;
        plan.total_load += tile.load;
        plan.max_tile_queries = std::max(plan.max_tile_queries, tile.num_rows * group);
        plan.tiles.push_back(tile);
      }
    }
  }

  // Split-KV. Snake dealing balances many small tiles; a tile above half the per-worker fair
  // share would leave workers idle, so it is cut into pieces of whole chunks of about that size.
  // Which worker runs a chunk never changes its arithmetic (see attention_plan.h).
  const int64_t fair = (plan.total_load + num_workers - 1) / num_workers;
  const int64_t piece_target = std::max<int64_t>(1, fair / 2);
  const int partial_stride = shape.head_dim + 2;
  for (size_t t = 0; t < plan.tiles.size(); ++t) {
    AttentionTile& tile = plan.tiles[t];
    const int n_chunks = tile.chunk_end - tile.chunk_begin;
    int pieces = 1;
    if (options.allow_split && num_workers > 1 && n_chunks > 1 && tile.load > piece_target) {
      pieces = static_cast<int>(
          std::min<int64_t>(n_chunks, (tile.load + piece_target - 1) / piece_target));
    }
    if (pieces == 1) {
      plan.items.push_back({static_cast<int>(t), tile.chunk_begin, tile.chunk_end, tile.load});
      continue;
    }
    tile.split = static_cast<int>(plan.splits.size());
    plan.splits.push_back({static_cast<int>(t), plan.partial_floats});
    plan.partial_floats += static_cast<int64_t>(n_chunks) * tile.num_rows * group * partial_stride;
    for (int p = 0; p < pieces; ++p) {
      const int c0 =
          tile.chunk_begin + static_cast<int>(static_cast<int64_t>(n_chunks) * p / pieces);
      const int c1 =
          tile.chunk_begin + static_cast<int>(static_cast<int64_t>(n_chunks) * (p + 1) / pieces);
      plan.items.push_back({static_cast<int>(t), c0, c1, tile.load * (c1 - c0) / n_chunks});
    }
  }

  // Heaviest first (stable: ties keep creation order, so the plan is deterministic), dealt to
  // workers in snake order 0, 1, ..., W-1, W-1, ..., 0.
  std::stable_sort(
      plan.items.begin(), plan.items.end(),
      [](const AttentionWorkItem& a, const AttentionWorkItem& b) { return a.load > b.load; });
  std::vector<int> owner(plan.items.size());
  std::vector<int> counts(static_cast<size_t>(num_workers), 0);
  for (size_t k = 0; k < plan.items.size(); ++k) {
    const int round = static_cast<int>(k / static_cast<size_t>(num_workers));
    const int pos = static_cast<int>(k % static_cast<size_t>(num_workers));
    owner[k] = round % 2 == 0 ? pos : num_workers - 1 - pos;
    ++counts[static_cast<size_t>(owner[k])];
  }
  plan.worker_begin.assign(static_cast<size_t>(num_workers) + 1, 0);
  for (int w = 0; w < num_workers; ++w) {
    plan.worker_begin[static_cast<size_t>(w) + 1] =
        plan.worker_begin[static_cast<size_t>(w)] + counts[static_cast<size_t>(w)];
  }
  plan.worker_items.resize(plan.items.size());
  std::vector<int> fill(plan.worker_begin.begin(), plan.worker_begin.end() - 1);
  for (size_t k = 0; k < plan.items.size(); ++k) {
    plan.worker_items[static_cast<size_t>(fill[static_cast<size_t>(owner[k])]++)] =
        static_cast<int>(k);
  }
  return plan;
}

}  // namespace xy::cpu
