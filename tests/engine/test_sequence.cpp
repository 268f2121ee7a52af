// Sequence: lifecycle transitions, step application, invariant checks; request validation.
#include <gtest/gtest.h>

#include "engine/sequence.h"

namespace xy {
namespace {

Request request(int prompt_len, int max_output) {
  Request r;
  r.id = 9;
  for (int i = 0; i < prompt_len; ++i) r.prompt_tokens.push_back(i + 1);
  r.max_output_tokens = max_output;
  r.priority = 2;
  return r;
}

TEST(Sequence, PrefillChunksThenDecodesThenFinishes) {
  Sequence s(request(10, 3), 4);
  EXPECT_EQ(s.status(), SequenceStatus::kWaiting);
  EXPECT_EQ(s.arrival_index(), 4u);
  EXPECT_EQ(s.max_total_tokens(), 13);
  s.mark_admitted(1, 3);  // 3 tokens from the prefix cache
  EXPECT_EQ(s.cached_tokens(), 3);
  EXPECT_TRUE(s.is_prefilling());
  EXPECT_EQ(s.num_uncomputed_tokens(), 7);
  s.apply_step(4, {});
  EXPECT_TRUE(s.is_prefilling());
  const int32_t first = 77;
  s.apply_step(3, std::span<const int32_t>(&first, 1));  // last chunk samples
  EXPECT_FALSE(s.is_prefilling());
  EXPECT_EQ(s.num_computed_tokens(), 10);
  EXPECT_EQ(s.num_tokens(), 11);
  // Verify: the last token + 2 drafts; one draft accepted, plus the bonus token.
  s.set_draft_tokens({5, 6});
  const int32_t accepted[] = {5, 8};
  s.apply_step(2, accepted);
  EXPECT_EQ(s.num_output_tokens(), 3);
  EXPECT_TRUE(s.draft_tokens().empty());
  EXPECT_TRUE(s.reached_max_output());
  EXPECT_EQ(std::vector<int32_t>(s.output_tokens().begin(), s.output_tokens().end()),
            (std::vector<int32_t>{77, 5, 8}));
  EXPECT_DEATH(s.apply_step(1, std::span<const int32_t>(&first, 1)), "max_output_tokens");
  s.mark_finished(FinishReason::kLength);
  EXPECT_TRUE(s.is_finished());
}

TEST(Sequence, PreemptionKeepsTokensAndRecomputesThemAll) {
  Sequence s(request(5, 10), 0);
  s.mark_admitted(1, 0);
  const int32_t t = 3;
  s.apply_step(5, std::span<const int32_t>(&t, 1));
  s.apply_step(1, std::span<const int32_t>(&t, 1));
  s.mark_preempted();
  EXPECT_EQ(s.status(), SequenceStatus::kPreempted);
  EXPECT_EQ(s.num_computed_tokens(), 0);
  EXPECT_EQ(s.num_tokens(), 7);
  EXPECT_EQ(s.num_preemptions(), 1);
  s.mark_admitted(2, 4);
  EXPECT_EQ(s.cached_tokens(), 0) << "cached_tokens reports the first admission";
  EXPECT_TRUE(s.is_prefilling());  // prompt + both outputs are recomputed as one prefill
  s.apply_step(3, std::span<const int32_t>(&t, 1));
  EXPECT_EQ(s.num_computed_tokens(), 7);
  s.check_invariants();
}

TEST(SequenceDeathTest, InvariantViolationsAreCaught) {
  Sequence s(request(5, 10), 0);
  EXPECT_DEATH(s.apply_step(1, {}), "kRunning");
  s.mark_admitted(1, 0);
  const int32_t t = 3;
  EXPECT_DEATH(s.apply_step(2, std::span<const int32_t>(&t, 1)), "before the prefill finished");
  EXPECT_DEATH(s.apply_step(6, {}), "past the prompt");
  EXPECT_DEATH(s.set_draft_tokens({1}), "decoding sequence");
  EXPECT_DEATH(s.apply_step(5, {}), "exactly one token without K/V");
  s.mutable_kv().block_table.push_back(0);
  EXPECT_DEATH(s.mark_preempted(), "release the blocks");
}

TEST(Request, ValidationNamesTheProblem) {
  Request r = request(3, 4);
  EXPECT_TRUE(validate_request(r, 100).is_ok());
  r.prompt_tokens[1] = 100;
  Status s = validate_request(r, 100);
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.message().find("request 9: prompt token 1 is 100"), std::string::npos) << s.message();
  r.prompt_tokens[1] = -1;
  EXPECT_FALSE(validate_request(r, 0).is_ok());
  r.prompt_tokens.clear();
  EXPECT_NE(validate_request(r, 0).message().find("empty prompt"), std::string::npos);
  r = request(3, 0);
  EXPECT_NE(validate_request(r, 0).message().find("max_output_tokens"), std::string::npos);
}

}  // namespace
}  // namespace xy
