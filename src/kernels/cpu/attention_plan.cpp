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

// Logical index range [lo, hi] of keys that rows [r0, r0 + n) of `seg` may see. hi is exact for
// chains and an upper bound for trees; lo is a lower bound from the sliding window (exact for
// cached keys, whose position is their logical index; segment keys are never excluded by it).
void visible_key_range(const TokenTable& table, const Segment& seg, int r0, int n, int window,
                       int* lo, int* hi) {
  const bool tree = seg.spec_mask_offset >= 0;
  *hi = tree ? seg.kv_len + seg.num_tokens - 1 : seg.kv_len + r0 + n - 1;
  *lo = 0;
  if (window > 0) {
    int min_pos = table.positions[static_cast<size_t>(seg.start + r0)];
    for (int i = 1; i < n; ++i) {
      min_pos = std::min(
          min_pos, static_cast<int>(table.positions[static_cast<size_t>(seg.start + r0 + i)]));
    }
    *lo = std::min(std::max(0, min_pos - window + 1), seg.kv_len);
  }
}

// Keys row i of seg may see, for the load estimate (exact for chains without a window).
int64_t row_keys(const TokenTable& table, const Segment& seg, int i, int window) {
  int lo = 0, hi = 0;
  visible_key_range(table, seg, i, 1, window, &lo, &hi);
  return std::max<int64_t>(1, hi - lo + 1);
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
        int lo = 0, hi = 0;
        visible_key_range(table, seg, r0, tile.num_rows, shape.sliding_window, &lo, &hi);
        tile.chunk_begin = lo / chunk;
        tile.chunk_end = hi / chunk + 1;
        int64_t keys = 0;
        for (int i = 0; i < tile.num_rows; ++i) {
          keys += row_keys(table, seg, r0 + i, shape.sliding_window);
        }
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
