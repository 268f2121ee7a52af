// The draft-model proposer: its drafts are exactly the draft model's greedy continuation (checked
// against a plain one-sequence decode loop), also after the target rejected part of them (KV
// rollback) and for several sequences drafted in the same batched steps; tree mode adds the
// runners-up as siblings; the vocabulary check names the difference.
#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "engine/sampling/logits_math.h"
#include "engine/spec/spec_config.h"
#include "model/token_table_builder.h"
#include "spec_test_models.h"

namespace xy {
namespace {

using testing::random_tokens;
using testing::tiny_draft_model;
using testing::tiny_model;

// The draft model's greedy continuation of `tokens` (k tokens) by a plain prefill + decode loop;
// also the second-best token at each depth.
std::vector<int32_t> greedy_continuation(const std::vector<int32_t>& tokens, int k,
                                         std::vector<int32_t>* runners_up = nullptr) {
  const Model& model = *tiny_draft_model().model;
  const int bs = 16;
  const int nblocks = (static_cast<int>(tokens.size()) + k + bs - 1) / bs;
  Result<KvCache> cache = model.make_kv_cache(nblocks, bs, DType::kF32);
  XY_CHECK(cache.is_ok());
  std::vector<int32_t> blocks(static_cast<size_t>(nblocks));
  std::iota(blocks.begin(), blocks.end(), 0);
  std::vector<float> logits(static_cast<size_t>(model.config().vocab_size));
  ForwardScratch scratch;
  TokenTable t = make_single_sequence_table(tokens, 0, blocks, bs, false);
  XY_CHECK(model.forward(t, *cache, logits.data(), scratch).is_ok());
  std::vector<int32_t> out;
  int kv_len = static_cast<int>(tokens.size());
  while (true) {
    const int32_t tok = sampling::argmax(logits);
    out.push_back(tok);
    if (runners_up) {
      std::vector<float> rest = logits;
      rest[static_cast<size_t>(tok)] = -1e30f;
      runners_up->push_back(sampling::argmax(rest));
    }
    if (static_cast<int>(out.size()) == k) break;
    const int32_t one[1] = {tok};
    t = make_single_sequence_table(one, kv_len++, blocks, bs, false);
    XY_CHECK(model.forward(t, *cache, logits.data(), scratch).is_ok());
  }
  return out;
}

Sequence decoding_sequence(SeqId id, std::vector<int32_t> prompt, int32_t sampled) {
  Request r;
  r.id = id;
  r.prompt_tokens = std::move(prompt);
  r.max_output_tokens = 64;
  Sequence seq(r, 0);
  seq.mark_admitted(0, 0);
  seq.apply_step(seq.num_tokens(), std::span<const int32_t>(&sampled, 1));
  return seq;
}

std::vector<int32_t> vec(std::span<const int32_t> s) {
  return {s.begin(), s.end()};
}

TEST(SpecDraftModel, DraftsAreTheDraftModelsGreedyTokensAcrossRollbacks) {
  std::mt19937 rng(4);
  const int vocab = tiny_model().tokenizer_vocab;
  auto proposer = testing::make_draft_proposer(/*draft_is_target=*/false);
  auto& dp = static_cast<spec::DraftModelProposer&>(*proposer);
  std::vector<Sequence> seqs;
  for (int i = 0; i < 3; ++i) {
    seqs.push_back(decoding_sequence(i + 1, random_tokens(rng, 9 + 13 * i, vocab), 7 + i));
  }
  const spec::ProposeContext ctx{4, 512, 3};
  for (int round = 0; round < 4; ++round) {
    std::vector<Sequence*> ptrs;
    for (Sequence& s : seqs) ptrs.push_back(&s);
    ASSERT_TRUE(proposer->propose(ptrs, ctx).is_ok());
    for (Sequence& s : seqs) {
      const std::vector<int32_t> tokens = vec(s.tokens());
      EXPECT_EQ(vec(s.draft_tokens()), greedy_continuation(tokens, 4))
          << "round " << round << " seq " << s.id();
      // KV for the real tokens and the first 3 drafts.
      EXPECT_EQ(dp.draft_kv_len(s.id()), s.num_tokens() + 3);
    }
    // The target keeps a different number of drafts per sequence, then its own token (which
    // differs from the next draft, as after a rejection).
    for (size_t i = 0; i < seqs.size(); ++i) {
      Sequence& s = seqs[i];
      const int accepted = static_cast<int>((round + i) % 5);  // 0..4
      std::vector<int32_t> add = vec(s.draft_tokens().first(static_cast<size_t>(accepted)));
      add.push_back(static_cast<int32_t>(3 + (round * 7 + i) % 400));
      s.apply_step(1 + accepted, add);
    }
  }
  proposer->release(1);
  EXPECT_EQ(dp.draft_kv_len(1), 0);
  proposer->release(2);
  proposer->release(3);
  EXPECT_EQ(dp.num_used_blocks(), 0);
}

TEST(SpecDraftModel, TreeModeAddsRunnersUpAsSiblings) {
  std::mt19937 rng(5);
  auto proposer = testing::make_draft_proposer(false, /*tree_width=*/2);
  Sequence s = decoding_sequence(1, random_tokens(rng, 20, tiny_model().tokenizer_vocab), 9);
  Sequence* ptrs[] = {&s};
  ASSERT_TRUE(proposer->propose(ptrs, spec::ProposeContext{6, 512, 1}).is_ok());
  std::vector<int32_t> second;
  const std::vector<int32_t> chain = greedy_continuation(vec(s.tokens()), 3, &second);
  // Layout: [d1, alt1, d2, alt2, d3, alt3]; chain nodes at 0, 2, 4.
  EXPECT_EQ(vec(s.draft_tokens()),
            (std::vector<int32_t>{chain[0], second[0], chain[1], second[1], chain[2], second[2]}));
  EXPECT_EQ(vec(s.draft_parents()), (std::vector<int32_t>{-1, -1, 0, 0, 2, 2}));
}

TEST(SpecDraftModel, OutOfDraftKvMeansNoDraftsNotAFailure) {
  std::mt19937 rng(6);
  auto proposer = testing::make_draft_proposer(false, 1, false, /*num_kv_blocks=*/3);
  Sequence a = decoding_sequence(1, random_tokens(rng, 30, 500), 9);  // 2 blocks + drafts
  Sequence b = decoding_sequence(2, random_tokens(rng, 30, 500), 9);  // does not fit beside a
  Sequence* ptrs[] = {&a, &b};
  ASSERT_TRUE(proposer->propose(ptrs, spec::ProposeContext{4, 512, 2}).is_ok());
  EXPECT_EQ(a.draft_tokens().size(), 4u);
  EXPECT_TRUE(b.draft_tokens().empty());
}

TEST(SpecDraftModel, VocabularyChecks) {
  const testing::TinyModel& target = tiny_model();
  const testing::DraftCheckpoint& draft = tiny_draft_model();
  EXPECT_TRUE(spec::check_draft_compatible(target.dir, target.model->config(), draft.dir,
                                           draft.model->config())
                  .is_ok());
  // Same tokenizer, a padded embedding table: fine (Qwen2.5 0.5B / 7B). Without tokenizers to
  // compare, the sizes must agree.
  ModelConfig other = draft.model->config();
  other.vocab_size = 2048;
  EXPECT_TRUE(
      spec::check_draft_compatible(target.dir, target.model->config(), draft.dir, other).is_ok());
  const Status st = spec::check_draft_compatible(target.dir, target.model->config(),
                                                 draft.dir + "_missing", other);
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(st.message().find("vocab_size 2048"), std::string::npos) << st.message();

  // Same model vocabulary, different tokenizer (trained to another size).
  const std::string dir = draft.dir + "_othertok";
  std::filesystem::remove_all(dir);
  RandomCheckpointOptions opts;
  opts.dtype = DType::kF32;
  opts.tokenizer_vocab_size = 300;
  ASSERT_TRUE(write_random_checkpoint(find_model_preset("tiny-draft")->config, dir, opts).is_ok());
  const Status tok =
      spec::check_draft_compatible(target.dir, target.model->config(), dir, draft.model->config());
  std::filesystem::remove_all(dir);
  EXPECT_EQ(tok.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(tok.message().find("tokenizer.json"), std::string::npos) << tok.message();
  EXPECT_NE(tok.message().find("token"), std::string::npos) << tok.message();

  // make_proposer loads the draft and checks it.
  spec::SpecConfig cfg;
  cfg.method = spec::SpecMethod::kDraft;
  cfg.num_speculative_tokens = 3;
  cfg.draft_model_dir = draft.dir;
  auto p = spec::make_proposer(cfg, target.dir, target.model->config());
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  EXPECT_STREQ((*p)->name(), "draft");
  cfg.draft_model_dir = "/nonexistent/draft";
  EXPECT_FALSE(spec::make_proposer(cfg, target.dir, target.model->config()).is_ok());
  cfg.method = spec::SpecMethod::kTree;
  cfg.draft_model_dir.clear();
  p = spec::make_proposer(cfg, target.dir, target.model->config());
  ASSERT_TRUE(p.is_ok());
  EXPECT_STREQ((*p)->name(), "ngram-tree");
  EXPECT_FALSE(spec::parse_spec_method("medusa").is_ok());
}

}  // namespace
}  // namespace xy
