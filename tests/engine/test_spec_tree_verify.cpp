// Tree verification: the greedy walk follows the target's argmax through the tree; the sampling
// walk (recursive rejection over deterministic children) leaves the target distribution
// unchanged at every depth (chi-square over 100k walks); the accepted path's K/V moves into
// place.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "engine/spec/tree_verify.h"
#include "test_sampling_reference.h"

namespace xy::spec {
namespace {

constexpr int kVocab = 8;

// Tree: draft 0 (token 2) and draft 1 (token 5) under the root; drafts 2 (token 7) and 3
// (token 1) under draft 0.
const std::vector<int32_t> kDrafts = {2, 5, 7, 1};
const std::vector<int32_t> kParents = {-1, -1, 0, 0};

std::vector<float> rows_with_argmax(const std::vector<int32_t>& argmax) {
  std::vector<float> logits(argmax.size() * kVocab, 0.0f);
  for (size_t r = 0; r < argmax.size(); ++r) logits[r * kVocab + argmax[r]] = 3.0f;
  return logits;
}

TEST(SpecTreeVerify, GreedyFollowsTheArgmax) {
  SamplingParams greedy;
  greedy.temperature = 0.0f;
  Sampler sampler;
  RequestRng rng(1);
  TokenHistory history(std::vector<int32_t>{3, 4});
  // Root prefers 2 (draft 0), draft 0's row prefers 1 (draft 3), draft 3's row prefers 6.
  auto out = verify_tree(rows_with_argmax({2, 1, 0, 0, 6}), kDrafts, kParents, kVocab, greedy,
                         history, rng, sampler);
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_EQ(out->num_accepted, 2);
  EXPECT_EQ(out->tokens, (std::vector<int32_t>{2, 1, 6}));
  EXPECT_EQ(out->accepted_rows, (std::vector<int32_t>{1, 4}));
  EXPECT_EQ(history.num_output_tokens(), 0);  // restored
  EXPECT_EQ(rng.position(), 0u);              // greedy draws nothing

  // Root prefers 4: no child has it.
  out = verify_tree(rows_with_argmax({4, 0, 0, 0, 0}), kDrafts, kParents, kVocab, greedy, history,
                    rng, sampler);
  ASSERT_TRUE(out.is_ok());
  EXPECT_EQ(out->num_accepted, 0);
  EXPECT_EQ(out->tokens, (std::vector<int32_t>{4}));
  // Root prefers 5 (draft 1, a leaf): accepted, then its row decides.
  out = verify_tree(rows_with_argmax({5, 0, 3, 0, 0}), kDrafts, kParents, kVocab, greedy, history,
                    rng, sampler);
  ASSERT_TRUE(out.is_ok());
  EXPECT_EQ(out->tokens, (std::vector<int32_t>{5, 3}));
  EXPECT_EQ(out->accepted_rows, (std::vector<int32_t>{2}));
}

TEST(SpecTreeVerify, MalformedInputsAreErrors) {
  SamplingParams p;
  Sampler sampler;
  RequestRng rng(1);
  TokenHistory h;
  const std::vector<float> logits(5 * kVocab, 0.0f);
  EXPECT_FALSE(verify_tree(std::span(logits).first(4 * kVocab), kDrafts, kParents, kVocab, p, h,
                           rng, sampler)
                   .is_ok());
  EXPECT_FALSE(
      verify_tree(logits, std::vector<int32_t>{2, 5, 7, 99}, kParents, kVocab, p, h, rng, sampler)
          .is_ok());
  EXPECT_FALSE(
      verify_tree(logits, kDrafts, std::vector<int32_t>{-1, 1, 0, 0}, kVocab, p, h, rng, sampler)
          .is_ok());
}

TEST(SpecTreeVerify, SamplingPreservesTheTargetDistribution) {
  std::mt19937_64 gen(5);
  std::vector<float> logits;
  std::vector<std::vector<double>> p;  // softmax of each row
  for (int r = 0; r < 5; ++r) {
    const std::vector<float> row = testing::random_logits(kVocab, gen, 1.0);
    logits.insert(logits.end(), row.begin(), row.end());
    std::vector<double> lp = testing::ref_log_softmax(row);
    for (double& x : lp) x = std::exp(x);
    p.push_back(lp);
  }
  SamplingParams params;  // temperature 1, no truncation: probs = softmax
  Sampler sampler;
  RequestRng rng(77);
  TokenHistory history;
  const int n = 100000;
  std::vector<int64_t> first(kVocab, 0);
  // Second token after accepting draft 0 (row 1) and draft 1 (row 2).
  std::vector<int64_t> after_d0(kVocab, 0), after_d1(kVocab, 0);
  for (int i = 0; i < n; ++i) {
    auto out = verify_tree(logits, kDrafts, kParents, kVocab, params, history, rng, sampler);
    ASSERT_TRUE(out.is_ok());
    ++first[static_cast<size_t>(out->tokens[0])];
    if (out->num_accepted >= 1) {
      const int row = out->accepted_rows[0];
      if (row == 1) ++after_d0[static_cast<size_t>(out->tokens[1])];
      if (row == 2) ++after_d1[static_cast<size_t>(out->tokens[1])];
    }
  }
  const auto check = [](const std::vector<int64_t>& counts, const std::vector<double>& probs,
                        const char* what) {
    const testing::ChiSquare chi = testing::chi_square(counts, probs);
    EXPECT_LT(chi.statistic, testing::chi_square_critical_999(chi.df)) << what;
  };
  check(first, p[0], "first token vs the root's distribution");
  check(after_d0, p[1], "token after draft 0 vs its row");
  check(after_d1, p[2], "token after draft 1 vs its row");
}

// Verification emits exactly the tokens plain decoding samples, row by row, with the same random
// stream, for chains and trees, whatever the drafts.
TEST(SpecTreeVerify, EmitsThePlainSamplingTokens) {
  std::mt19937_64 gen(11);
  SamplingParams params;
  params.temperature = 0.9f;
  params.top_p = 0.95f;
  params.presence_penalty = 0.5f;  // the history matters
  Sampler sampler;
  for (int trial = 0; trial < 200; ++trial) {
    const int k = 1 + trial % 5;
    std::vector<float> logits;
    for (int r = 0; r <= k; ++r) {
      const std::vector<float> row = testing::random_logits(kVocab, gen, 1.5);
      logits.insert(logits.end(), row.begin(), row.end());
    }
    TokenHistory history(std::vector<int32_t>{1, 2});
    // Plain decoding of rows 0..k in order, as if every draft matched so far.
    RequestRng plain_rng(trial);
    std::vector<int32_t> plain;
    TokenHistory h = history;
    for (int r = 0; r <= k; ++r) {
      auto s = sampler.sample(std::span(logits).subspan(static_cast<size_t>(r) * kVocab, kVocab),
                              params, h, plain_rng);
      ASSERT_TRUE(s.is_ok());
      plain.push_back(s->token);
      h.add_output(s->token);
    }
    // A chain that follows the plain tokens for `match` drafts, then goes wrong.
    const int match = trial % (k + 1);
    std::vector<int32_t> drafts(plain.begin(), plain.begin() + k);
    if (match < k)
      drafts[static_cast<size_t>(match)] = (plain[static_cast<size_t>(match)] + 1) % kVocab;
    RequestRng rng(trial);
    auto out = verify_tree(logits, drafts, {}, kVocab, params, history, rng, sampler);
    ASSERT_TRUE(out.is_ok());
    EXPECT_EQ(out->num_accepted, match);
    EXPECT_EQ(out->tokens, std::vector<int32_t>(plain.begin(), plain.begin() + match + 1));
    EXPECT_TRUE(out->accepted_rows.size() == static_cast<size_t>(match));
    EXPECT_EQ(history.num_output_tokens(), 0);
    RequestRng expect_rng(trial);
    for (int i = 0; i <= match; ++i) expect_rng.next_u64();
    EXPECT_EQ(rng.position(), expect_rng.position());  // one draw per emitted token

    // The same as a tree: a decoy sibling before the true child changes nothing.
    std::vector<int32_t> tree_tokens, parents;
    int prev = -1;
    for (int i = 0; i < std::min(match + 1, k); ++i) {
      tree_tokens.push_back((drafts[static_cast<size_t>(i)] + 3) % kVocab);  // decoy
      parents.push_back(prev);
      if ((drafts[static_cast<size_t>(i)] + 3) % kVocab == drafts[static_cast<size_t>(i)]) break;
      tree_tokens.push_back(drafts[static_cast<size_t>(i)]);
      parents.push_back(prev);
      prev = static_cast<int>(tree_tokens.size()) - 1;
    }
    std::vector<float> tree_logits(logits.begin(), logits.begin() + kVocab);  // root
    for (size_t n = 0; n < tree_tokens.size(); ++n) {
      // Row of node n: the chain row of its depth (decoys get arbitrary rows).
      int depth = 1;
      for (int a = parents[n]; a >= 0; a = parents[static_cast<size_t>(a)]) ++depth;
      const size_t r = static_cast<size_t>(std::min(depth, k));
      tree_logits.insert(tree_logits.end(), logits.begin() + r * kVocab,
                         logits.begin() + (r + 1) * kVocab);
    }
    RequestRng tree_rng(trial);
    auto tree =
        verify_tree(tree_logits, tree_tokens, parents, kVocab, params, history, tree_rng, sampler);
    ASSERT_TRUE(tree.is_ok());
    EXPECT_EQ(tree->tokens, out->tokens) << "trial " << trial;
  }
}

TEST(SpecTreeVerify, CompactMovesTheAcceptedPathForEveryLayerAndHead) {
  for (DType dtype : {DType::kF32, DType::kBF16}) {
    KvCacheShape shape;
    shape.num_layers = 2;
    shape.num_blocks = 6;
    shape.block_size = 4;
    shape.n_kv_heads = 2;
    shape.head_dim = 8;
    shape.dtype = dtype;
    Result<KvCache> cache = KvCache::create(shape);
    ASSERT_TRUE(cache.is_ok());
    const std::vector<int32_t> blocks = {5, 2, 0, 3};  // logical 0..15
    const auto slot = [&](int logical) {
      return static_cast<int64_t>(blocks[static_cast<size_t>(logical / 4)]) * 4 + logical % 4;
    };
    // Every logical index L gets K = L + 16 h + 32 l (exact in bf16), V = -(that).
    for (int l = 0; l < 2; ++l) {
      const ref::PagedKvLayer layer = cache->layer(l);
      for (int logical = 0; logical < 16; ++logical) {
        std::vector<float> k(16), v(16);
        for (int h = 0; h < 2; ++h) {
          for (int d = 0; d < 8; ++d) {
            k[static_cast<size_t>(h * 8 + d)] = static_cast<float>(logical + 16 * h + 32 * l);
            v[static_cast<size_t>(h * 8 + d)] = -k[static_cast<size_t>(h * 8 + d)];
          }
        }
        const int64_t s = slot(logical);
        ref::write_kv(k.data(), v.data(), &s, 1, layer);
      }
    }
    const int kv_len = 5;
    compact_accepted_kv(*cache, blocks, kv_len, std::vector<int32_t>{1, 4, 7});
    // Logical 6, 7, 8 now hold what 6, 9, 12 held; others unchanged.
    const std::vector<int> want_source = {0, 1, 2, 3, 4, 5, 6, 9, 12, 9, 10, 11, 12, 13, 14, 15};
    for (int l = 0; l < 2; ++l) {
      const ref::PagedKvLayer layer = cache->layer(l);
      for (int logical = 0; logical < 16; ++logical) {
        for (int h = 0; h < 2; ++h) {
          float k[8], v[8];
          ref::read_kv_row(layer.k, layer, slot(logical), h, k);
          ref::read_kv_row(layer.v, layer, slot(logical), h, v);
          const float want =
              static_cast<float>(want_source[static_cast<size_t>(logical)] + 16 * h + 32 * l);
          EXPECT_EQ(k[3], want) << "layer " << l << " logical " << logical << " head " << h;
          EXPECT_EQ(v[7], -want);
        }
      }
    }
  }
}

}  // namespace
}  // namespace xy::spec
