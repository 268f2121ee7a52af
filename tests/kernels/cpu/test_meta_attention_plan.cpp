// The attention plan (Task-Table): tile shapes per segment kind, exact coverage of every
// (segment, head, row) and of every tile's KV chunks, snake dealing of load-sorted items, and
// split-KV only where one tile would leave workers idle.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <tuple>
#include <vector>

#include "kernels/cpu/attention_plan.h"
#include "meta_attention_test_util.h"

namespace xy::cpu {
namespace {

using testing::AttnDims;
using testing::SeqSpec;

// The plan reads only the table; a tiny head_dim keeps the K/V fill of long sequences cheap.
TokenTable table_of(const std::vector<SeqSpec>& specs, AttnDims dims) {
  dims.head_dim = 8;
  return testing::make_attn_step(specs, dims, 1).table;
}

AttentionShape shape_of(const AttnDims& d, int window = 0) {
  return AttentionShape{d.n_heads(), d.n_kv_heads, d.head_dim, d.block_size, window};
}

// Every invariant of a plan, whatever its inputs.
void check_plan_invariants(const TokenTable& table, const AttentionPlan& plan) {
  const int group = plan.shape.group();
  // (segment, query head, row) covered exactly once by the tiles.
  std::map<std::tuple<int, int, int>, int> covered;
  for (const AttentionTile& t : plan.tiles) {
    ASSERT_GT(t.num_rows, 0);
    for (int r = t.row_begin; r < t.row_begin + t.num_rows; ++r) {
      for (int g = 0; g < group; ++g) ++covered[{t.segment, t.kv_head * group + g, r}];
    }
    // The chunk range holds every key the tile's rows may see (all of it, no window).
    const Segment& seg = table.segments[static_cast<size_t>(t.segment)];
    // Trees: a row sees its mask row's ones, placed after the cached keys as in a chain.
    int own = t.row_begin + t.num_rows;
    if (seg.spec_mask_offset >= 0) {
      own = 0;
      for (int r = t.row_begin; r < t.row_begin + t.num_rows; ++r) {
        const auto path = plan.tree_path(t.segment, r);
        int ones = 0;
        for (int j = 0; j < seg.num_tokens; ++j) {
          ones +=
              table.spec_masks[static_cast<size_t>(seg.spec_mask_offset + r * seg.num_tokens + j)];
        }
        EXPECT_EQ(static_cast<int>(path.size()), ones);
        for (size_t e = 1; e < path.size(); ++e) {
          EXPECT_LT(table.positions[static_cast<size_t>(seg.start + path[e - 1])],
                    table.positions[static_cast<size_t>(seg.start + path[e])]);
        }
        own = std::max(own, ones);
      }
    }
    EXPECT_EQ(t.key_end, std::max(1, seg.kv_len + own));
    EXPECT_EQ(t.chunk_end, (t.key_end - 1) / plan.options.kv_chunk + 1);
    if (plan.shape.sliding_window == 0) {
      EXPECT_EQ(t.chunk_begin, 0);
    }
  }
  size_t expected = 0;
  for (const Segment& seg : table.segments) {
    expected += static_cast<size_t>(seg.num_tokens) * plan.shape.n_heads;
  }
  EXPECT_EQ(covered.size(), expected);
  for (const auto& [key, count] : covered) EXPECT_EQ(count, 1);

  // Each tile's chunk range is partitioned by its items; split tiles and only they have >1.
  std::vector<std::vector<int>> chunk_hits(plan.tiles.size());
  std::vector<int> pieces(plan.tiles.size(), 0);
  for (size_t t = 0; t < plan.tiles.size(); ++t) {
    chunk_hits[t].assign(static_cast<size_t>(plan.tiles[t].chunk_end - plan.tiles[t].chunk_begin),
                         0);
  }
  for (const AttentionWorkItem& item : plan.items) {
    const AttentionTile& t = plan.tiles[static_cast<size_t>(item.tile)];
    ASSERT_LE(t.chunk_begin, item.chunk_begin);
    ASSERT_LT(item.chunk_begin, item.chunk_end);
    ASSERT_LE(item.chunk_end, t.chunk_end);
    for (int c = item.chunk_begin; c < item.chunk_end; ++c) {
      ++chunk_hits[static_cast<size_t>(item.tile)][static_cast<size_t>(c - t.chunk_begin)];
    }
    ++pieces[static_cast<size_t>(item.tile)];
  }
  for (size_t t = 0; t < plan.tiles.size(); ++t) {
    for (int hits : chunk_hits[t]) EXPECT_EQ(hits, 1);
    EXPECT_EQ(pieces[t] > 1, plan.tiles[t].split >= 0);
  }

  // Items sorted by load descending, dealt in snake order.
  for (size_t k = 1; k < plan.items.size(); ++k) {
    EXPECT_GE(plan.items[k - 1].load, plan.items[k].load);
  }
  const int w_count = plan.num_workers;
  ASSERT_EQ(plan.worker_begin.size(), static_cast<size_t>(w_count) + 1);
  EXPECT_EQ(plan.worker_begin.back(), static_cast<int>(plan.items.size()));
  std::vector<int> owner(plan.items.size(), -1);
  for (int w = 0; w < w_count; ++w) {
    int prev = -1;
    for (int at = plan.worker_begin[static_cast<size_t>(w)];
         at < plan.worker_begin[static_cast<size_t>(w) + 1]; ++at) {
      const int item = plan.worker_items[static_cast<size_t>(at)];
      EXPECT_GT(item, prev);  // a worker runs its items heaviest first
      prev = item;
      EXPECT_EQ(owner[static_cast<size_t>(item)], -1);
      owner[static_cast<size_t>(item)] = w;
    }
  }
  for (size_t k = 0; k < plan.items.size(); ++k) {
    const int round = static_cast<int>(k) / w_count, pos = static_cast<int>(k) % w_count;
    EXPECT_EQ(owner[k], round % 2 == 0 ? pos : w_count - 1 - pos) << "item " << k;
  }
}

TEST(AttentionPlan, TileShapesPerSegmentKind) {
  AttnDims dims;
  dims.n_kv_heads = 3;
  dims.group = 4;
  const std::vector<SeqSpec> specs = {{1, 100, 1, SegmentKind::kDecode, false},
                                      {2, 50, 6, SegmentKind::kVerify, true},
                                      {3, 10, 40, SegmentKind::kPrefill, false}};
  const TokenTable table = table_of(specs, dims);
  AttentionPlanOptions options;
  options.prefill_tile_queries = 64;  // 16 rows at group 4
  const AttentionPlan plan = plan_attention(table, shape_of(dims), 4, options);
  check_plan_invariants(table, plan);
  ASSERT_EQ(plan.tiles.size(), 3u + 3u + 3u * 3u);  // 40 rows = 16 + 16 + 8 per KV head
  for (const AttentionTile& t : plan.tiles) {
    const int expect_rows = t.segment == 0 ? 1 : t.segment == 1 ? 6 : (t.row_begin == 32 ? 8 : 16);
    EXPECT_EQ(t.num_rows, expect_rows) << "segment " << t.segment;
  }
  // Decode load: 4 query heads x 101 keys. Prefill rows see kv_len + i + 1 keys.
  EXPECT_EQ(plan.tiles[0].load, 4 * 101);
  EXPECT_EQ(plan.max_tile_queries, 64);
}

TEST(AttentionPlan, RandomStepsKeepInvariants) {
  std::mt19937 rng(17);
  for (int iter = 0; iter < 40; ++iter) {
    AttnDims dims;
    dims.n_kv_heads = 1 + static_cast<int>(rng() % 4);
    dims.group = 1 << (rng() % 4);
    dims.block_size = 16;
    std::vector<SeqSpec> specs;
    const int n = 1 + static_cast<int>(rng() % 8);
    for (int s = 0; s < n; ++s) {
      SeqSpec spec;
      spec.seed = rng();
      spec.kind = static_cast<SegmentKind>(rng() % 3);
      spec.kv_len = static_cast<int>(rng() % 3000);
      spec.num_tokens = spec.kind == SegmentKind::kDecode ? 1 : 1 + static_cast<int>(rng() % 90);
      spec.tree = spec.kind == SegmentKind::kVerify && rng() % 2 == 0;
      specs.push_back(spec);
    }
    const TokenTable table = table_of(specs, dims);
    AttentionPlanOptions options;
    options.kv_chunk = 1 + static_cast<int>(rng() % 300);
    options.max_verify_tile_rows = 1 + static_cast<int>(rng() % 64);
    for (int workers : {1, 2, 3, 7}) {
      const AttentionPlan plan = plan_attention(table, shape_of(dims), workers, options);
      check_plan_invariants(table, plan);
      if (workers == 1) {
        EXPECT_FALSE(plan.has_splits());
      }
    }
  }
}

TEST(AttentionPlan, SplitOnlyWhenATileWouldStarveWorkers) {
  AttnDims dims;
  dims.n_kv_heads = 1;
  dims.group = 4;
  // One long decode: a single heavy tile, fewer tiles than workers -> split.
  TokenTable table = table_of({{1, 8191, 1, SegmentKind::kDecode, false}}, dims);
  AttentionPlan plan = plan_attention(table, shape_of(dims), 2);
  check_plan_invariants(table, plan);
  EXPECT_TRUE(plan.has_splits());
  EXPECT_GE(plan.items.size(), 2u);
  EXPECT_GT(plan.partial_floats, 0);
  // Same decode on one worker, or with splitting disabled: no split.
  EXPECT_FALSE(plan_attention(table, shape_of(dims), 1).has_splits());
  AttentionPlanOptions no_split;
  no_split.allow_split = false;
  EXPECT_FALSE(plan_attention(table, shape_of(dims), 2, no_split).has_splits());
  // A decode batch of many equal sequences: more heavy tiles than workers, no split.
  std::vector<SeqSpec> batch;
  for (uint64_t s = 0; s < 16; ++s) batch.push_back({s + 1, 1024, 1, SegmentKind::kDecode, false});
  table = table_of(batch, dims);
  plan = plan_attention(table, shape_of(dims), 2);
  check_plan_invariants(table, plan);
  EXPECT_FALSE(plan.has_splits());
  // One long decode among short ones: only the long one is split.
  batch.resize(4);
  batch.push_back({99, 8000, 1, SegmentKind::kDecode, false});
  table = table_of(batch, dims);
  plan = plan_attention(table, shape_of(dims), 2);
  check_plan_invariants(table, plan);
  ASSERT_EQ(plan.splits.size(), 1u);
  EXPECT_EQ(plan.tiles[static_cast<size_t>(plan.splits[0].tile)].segment, 4);
  // A single-chunk sequence is never split, whatever the imbalance.
  table = table_of({{1, 100, 1, SegmentKind::kDecode, false}}, dims);
  EXPECT_FALSE(plan_attention(table, shape_of(dims), 7).has_splits());
}

TEST(AttentionPlan, SlidingWindowSkipsLeadingChunks) {
  AttnDims dims;
  dims.n_kv_heads = 1;
  dims.group = 1;
  const TokenTable table = table_of({{1, 2000, 1, SegmentKind::kDecode, false}}, dims);
  const AttentionPlan plan = plan_attention(table, shape_of(dims, 300), 1);
  check_plan_invariants(table, plan);
  ASSERT_EQ(plan.tiles.size(), 1u);
  // Position 2000 sees keys > 1700: chunks 6 and 7 of 256.
  EXPECT_EQ(plan.tiles[0].chunk_begin, 1701 / 256);
  EXPECT_EQ(plan.tiles[0].chunk_end, 2000 / 256 + 1);
  EXPECT_EQ(plan.tiles[0].load, 300);
}

}  // namespace
}  // namespace xy::cpu
