// Tree verify segments in the Token-Table: draft parents become a compact ancestor mask, depth
// positions and contiguous KV slots, and a prefix granted by the scheduler is still a tree.
#include <gtest/gtest.h>

#include "engine/scheduler/scheduler.h"
#include "engine/scheduler/token_table_builder.h"
#include "model/token_table_validation.h"

namespace xy {
namespace {

TEST(SpecTreeMask, AncestorMaskAndDepths) {
  // root -> {0, 1, 4}; 0 -> {2, 3}; 1 -> {5}
  const std::vector<int32_t> parents = {-1, -1, 0, 0, -1, 1};
  std::vector<uint8_t> masks = {7};  // something already there: the mask is appended
  std::vector<int32_t> depth;
  append_tree_mask(parents, masks, depth);
  ASSERT_EQ(masks.size(), 1u + 49u);
  EXPECT_EQ(depth, (std::vector<int32_t>{0, 1, 1, 2, 2, 1, 2}));
  const uint8_t* m = masks.data() + 1;
  const std::vector<std::vector<int>> want = {
      {1, 0, 0, 0, 0, 0, 0},  // root
      {1, 1, 0, 0, 0, 0, 0},  // draft 0
      {1, 0, 1, 0, 0, 0, 0},  // draft 1
      {1, 1, 0, 1, 0, 0, 0},  // draft 2 <- 0
      {1, 1, 0, 0, 1, 0, 0},  // draft 3 <- 0
      {1, 0, 0, 0, 0, 1, 0},  // draft 4
      {1, 0, 1, 0, 0, 0, 1},  // draft 5 <- 1
  };
  for (int i = 0; i < 7; ++i) {
    for (int j = 0; j < 7; ++j) EXPECT_EQ(m[i * 7 + j], want[i][j]) << i << "," << j;
  }
}

TEST(SpecTreeMask, ChainParentsGiveACausalMask) {
  std::vector<uint8_t> masks;
  std::vector<int32_t> depth;
  append_tree_mask(std::vector<int32_t>{-1, 0, 1}, masks, depth);
  EXPECT_EQ(depth, (std::vector<int32_t>{0, 1, 2, 3}));
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) EXPECT_EQ(masks[static_cast<size_t>(i * 4 + j)], j <= i ? 1 : 0);
  }
}

TEST(SpecTreeMask, TreeVerifySegmentInTheStepTable) {
  BlockManager blocks(32, 4, /*enable_prefix_caching=*/false);
  SchedulerConfig cfg;
  cfg.max_num_batched_tokens = 5;  // decode of seq 2 + verify of seq 1 with 3 of its 5 drafts
  cfg.max_num_seqs = 4;
  cfg.kv_watermark_fraction = 0.0;
  Scheduler sched(cfg, blocks);
  Request r1{1, {10, 11, 12, 13, 14}, 20, 0, 0.0, {}, 0};
  Request r2{2, {20, 21}, 20, 0, 0.0, {}, 0};
  ASSERT_TRUE(sched.add(r1).is_ok());
  ASSERT_TRUE(sched.add(r2).is_ok());
  ScheduleDecision d = sched.schedule();
  ASSERT_EQ(d.segments.size(), 1u);  // budget 5: seq 1's prompt only
  const int32_t a = 15;
  sched.commit(1, 5, std::span<const int32_t>(&a, 1));
  d = sched.schedule();  // seq 2's prompt
  const int32_t b = 22;
  sched.commit(2, 2, std::span<const int32_t>(&b, 1));

  // Seq 1 proposes a tree: drafts 30, 31 children of the root, 32 <- 30, 33 <- 31, 34 <- 32.
  sched.find(1)->set_draft_tree({30, 31, 32, 33, 34}, {-1, -1, 0, 1, 2});
  d = sched.schedule();
  ASSERT_EQ(d.segments.size(), 2u);
  const ScheduledSegment& v = d.segments[0].seq->id() == 1 ? d.segments[0] : d.segments[1];
  ASSERT_EQ(v.kind, SegmentKind::kVerify);
  ASSERT_EQ(v.num_draft_tokens, 3);  // budget 5 - 1 decode - 1 root
  const TokenTable t = build_token_table(d, 4);
  ASSERT_TRUE(validate_token_table(t, TokenTableLimits{1000, 32, 4}).is_ok());
  const Segment* seg = nullptr;
  for (const Segment& s : t.segments) {
    if (s.seq_id == 1) seg = &s;
  }
  ASSERT_NE(seg, nullptr);
  ASSERT_EQ(seg->num_tokens, 4);
  ASSERT_GE(seg->spec_mask_offset, 0);
  const Sequence& s1 = *sched.find(1);
  const std::vector<int32_t> want_tokens = {15, 30, 31, 32};
  const std::vector<int32_t> want_pos = {5, 6, 6, 7};  // kv_len + depth
  for (int j = 0; j < 4; ++j) {
    EXPECT_EQ(t.token_ids[static_cast<size_t>(seg->start + j)], want_tokens[j]);
    EXPECT_EQ(t.positions[static_cast<size_t>(seg->start + j)], want_pos[j]);
    const int slot_index = 5 + j;  // slots stay contiguous
    EXPECT_EQ(t.slot_mapping[static_cast<size_t>(seg->start + j)],
              static_cast<int64_t>(s1.block_table()[slot_index / 4]) * 4 + slot_index % 4);
  }
  const uint8_t* m = t.spec_masks.data() + seg->spec_mask_offset;
  const std::vector<int> want_mask = {1, 0, 0, 0,  //
                                      1, 1, 0, 0,  //
                                      1, 0, 1, 0,  //
                                      1, 1, 0, 1};
  for (int i = 0; i < 16; ++i) EXPECT_EQ(m[i], want_mask[static_cast<size_t>(i)]) << i;
  // The decode beside it stays causal.
  for (const Segment& s : t.segments) {
    if (s.seq_id == 2) {
      EXPECT_EQ(s.spec_mask_offset, -1);
    }
  }
}

}  // namespace
}  // namespace xy
