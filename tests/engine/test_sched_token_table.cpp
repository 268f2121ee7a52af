// build_token_table on a hand-computed step: a verify segment, a decode and two prefill chunks
// (one finishing its prompt, one not), block size 4, so every row's slot can be checked by hand.
#include <gtest/gtest.h>

#include "engine/scheduler/scheduler.h"
#include "engine/scheduler/token_table_builder.h"

namespace xy {
namespace {

Request make_request(SeqId id, std::vector<int32_t> prompt, int max_output = 20) {
  Request r;
  r.id = id;
  r.prompt_tokens = std::move(prompt);
  r.max_output_tokens = max_output;
  return r;
}

TEST(SchedTokenTable, RowsPositionsSlotsAndLogitRows) {
  BlockManager blocks(64, 4, /*enable_prefix_caching=*/false);
  SchedulerConfig cfg;
  cfg.max_num_batched_tokens = 16;
  cfg.max_num_seqs = 4;
  cfg.kv_watermark_fraction = 0.0;
  Scheduler sched(cfg, blocks);
  ASSERT_TRUE(sched.add(make_request(1, {10, 11, 12, 13, 14})).is_ok());
  ASSERT_TRUE(sched.add(make_request(2, {20, 21, 22})).is_ok());
  // Step 1: both prompts complete (5 + 3 rows) and sample.
  ScheduleDecision d = sched.schedule();
  ASSERT_EQ(d.segments.size(), 2u);
  TokenTable t = build_token_table(d, 4);
  EXPECT_EQ(t.logit_rows, (std::vector<int32_t>{4, 7}));
  const int32_t a = 15, b = 23;
  sched.commit(1, 5, std::span<const int32_t>(&a, 1));
  sched.commit(2, 3, std::span<const int32_t>(&b, 1));
  // A long prompt arrives; seq 1 proposes 2 drafts, seq 2 plain decode.
  std::vector<int32_t> long_prompt;
  for (int i = 0; i < 30; ++i) long_prompt.push_back(100 + i);
  ASSERT_TRUE(sched.add(make_request(3, long_prompt)).is_ok());
  sched.find(1)->set_draft_tokens({16, 17});
  d = sched.schedule();
  ASSERT_EQ(d.segments.size(), 3u);
  t = build_token_table(d, 4);
  // Rows: [verify seq1: 15 16 17][decode seq2: 23][prefill seq3: 100..111 (16-4 = 12 rows)]
  ASSERT_EQ(t.num_tokens(), 16);
  const Sequence& s1 = *sched.find(1);
  const Sequence& s2 = *sched.find(2);
  const Sequence& s3 = *sched.find(3);
  EXPECT_EQ(t.segments[0].kind, SegmentKind::kVerify);
  EXPECT_EQ(t.segments[0].kv_len, 5);
  EXPECT_EQ(t.segments[0].num_blocks, 2);  // 8 slots cover positions 0..7
  EXPECT_EQ(t.segments[1].kind, SegmentKind::kDecode);
  EXPECT_EQ(t.segments[1].kv_len, 3);
  EXPECT_EQ(t.segments[2].kind, SegmentKind::kPrefill);
  EXPECT_EQ(t.segments[2].num_tokens, 12);
  const std::vector<int32_t> want_tokens = {15,  16,  17,  23,  100, 101, 102, 103,
                                            104, 105, 106, 107, 108, 109, 110, 111};
  EXPECT_EQ(t.token_ids, want_tokens);
  const std::vector<int32_t> want_pos = {5, 6, 7, 3, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  EXPECT_EQ(t.positions, want_pos);
  auto slot = [](const Sequence& s, int pos) {
    return static_cast<int64_t>(s.block_table()[pos / 4]) * 4 + pos % 4;
  };
  const std::vector<int64_t> want_slots = {slot(s1, 5), slot(s1, 6), slot(s1, 7),  slot(s2, 3),
                                           slot(s3, 0), slot(s3, 1), slot(s3, 2),  slot(s3, 3),
                                           slot(s3, 4), slot(s3, 5), slot(s3, 6),  slot(s3, 7),
                                           slot(s3, 8), slot(s3, 9), slot(s3, 10), slot(s3, 11)};
  EXPECT_EQ(t.slot_mapping, want_slots);
  // Verify wants all its rows; the decode its row; the unfinished prefill chunk none.
  EXPECT_EQ(t.logit_rows, (std::vector<int32_t>{0, 1, 2, 3}));
  // Flat block tables: each segment lists exactly the blocks covering kv_len + num_tokens.
  ASSERT_EQ(t.block_tables.size(), 2u + 1u + 3u);
  EXPECT_EQ(t.block_tables[t.segments[2].block_table_offset], s3.block_table()[0]);
  EXPECT_EQ(d.num_verify_tokens, 3);
  EXPECT_EQ(d.num_decode_tokens, 1);
  EXPECT_EQ(d.num_prefill_tokens, 12);
}

}  // namespace
}  // namespace xy
