// The sampler's building blocks against naive double-precision references, on random rows of
// awkward sizes (not multiples of the 16-lane blocks), with planted ties.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "engine/sampling/logits_math.h"
#include "engine/sampling/logits_processors.h"
#include "engine/sampling/token_history.h"
#include "engine/sampling/top_selection.h"
#include "test_sampling_reference.h"

namespace xy {
namespace {

using namespace xy::sampling;
using xy::testing::random_logits;

const size_t kSizes[] = {1, 2, 15, 16, 17, 63, 97, 1000, 4099, 151936};
constexpr float kInf = std::numeric_limits<float>::infinity();

// Copies some entries onto others so that ties exist in the row.
void plant_ties(std::vector<float>& x, std::mt19937_64& gen, size_t count) {
  std::uniform_int_distribution<size_t> pick(0, x.size() - 1);
  for (size_t i = 0; i < count; ++i) x[pick(gen)] = x[pick(gen)];
}

TEST(LogitsMath, FastExpMatchesDoubleExp) {
  double worst = 0;
  for (float x = -87.0f; x <= 88.0f; x += 0.0137f) {
    const double want = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::abs(fast_exp(x) - want) / want);
  }
  EXPECT_LT(worst, 3e-7);  // ~2.5 ulp
  EXPECT_EQ(fast_exp(0.0f), 1.0f);
  EXPECT_EQ(fast_exp(-kInf), 0.0f);
  EXPECT_EQ(fast_exp(-100.0f), 0.0f);
}

TEST(LogitsMath, ReductionsMatchReference) {
  std::mt19937_64 gen(1);
  for (size_t v : kSizes) {
    std::vector<float> x = random_logits(v, gen);
    plant_ties(x, gen, v / 10);
    // Plant a tied maximum at two positions: argmax must return the lower one.
    if (v > 3) {
      x[v / 3] = 50.0f;
      x[v - 1] = 50.0f;
    }
    const float want_max = *std::max_element(x.begin(), x.end());
    EXPECT_EQ(max_value(x), want_max) << "v=" << v;
    const int32_t want_arg = static_cast<int32_t>(std::max_element(x.begin(), x.end()) - x.begin());
    EXPECT_EQ(argmax(x), want_arg) << "v=" << v;

    double want_sum = 0;
    for (float f : x) want_sum += std::exp(static_cast<double>(f) - want_max);
    EXPECT_NEAR(sum_exp(x, want_max) / want_sum, 1.0, 1e-6) << "v=" << v;

    // exp_scores: scores, masked weights, per-block sums, total.
    const float keep_from = (x[0] - 1.5f) * 0.8f;
    std::vector<float> scores(v), weights(v);
    std::vector<double> blocks((v + kSumBlock - 1) / kSumBlock);
    const double got = exp_scores(x, 1.5f, 0.8f, keep_from, scores, weights, blocks);
    double want_total = 0;
    std::vector<double> want_blocks(blocks.size(), 0.0);
    for (size_t i = 0; i < v; ++i) {
      const float s = (x[i] - 1.5f) * 0.8f;
      ASSERT_EQ(scores[i], s);
      if (s < keep_from) {
        ASSERT_EQ(weights[i], 0.0f);
        continue;
      }
      // fast_exp on the float score: ~2.5 ulp against the double exp of that same score.
      ASSERT_NEAR(weights[i], std::exp(static_cast<double>(s)), 3e-7 * weights[i]);
      ASSERT_EQ(weights[i], fast_exp(s)) << "vector and scalar exp must agree bitwise";
      want_total += std::exp(static_cast<double>(s));
      want_blocks[i / kSumBlock] += std::exp(static_cast<double>(s));
    }
    EXPECT_NEAR(got / want_total, 1.0, 1e-6);
    for (size_t b = 0; b < blocks.size(); ++b)
      ASSERT_NEAR(blocks[b], want_blocks[b], 1e-6 * want_blocks[b] + 1e-30);
    // Without a scores buffer the weights are the same.
    std::vector<float> weights2(v);
    exp_scores(x, 1.5f, 0.8f, keep_from, {}, weights2, blocks);
    EXPECT_EQ(weights, weights2);
    // block_sums and zero_below over the same weights.
    std::vector<double> blocks2(blocks.size());
    EXPECT_NEAR(block_sums(weights, blocks2), got, 1e-9 * got);
    for (size_t b = 0; b < blocks.size(); ++b) ASSERT_NEAR(blocks2[b], blocks[b], 1e-6 * blocks[b]);
    const float cut = scores[v / 2];
    zero_below(scores, cut, weights);
    for (size_t i = 0; i < v; ++i) {
      if (scores[i] < cut) {
        ASSERT_EQ(weights[i], 0.0f);
      }
    }
    const float probe = x[v / 2];
    EXPECT_EQ(count_at_least(x, probe),
              std::count_if(x.begin(), x.end(), [&](float f) { return f >= probe; }));
  }
}

TEST(LogitsMath, InvalidRowsAreFlaggedAndLocated) {
  std::mt19937_64 gen(2);
  std::vector<float> x = random_logits(1003, gen);
  bool invalid = true;
  x[5] = -kInf;  // a masked token is legal
  max_value(x, &invalid);
  EXPECT_FALSE(invalid);
  EXPECT_EQ(first_invalid_logit(x), -1);
  for (size_t where : {0ul, 700ul, 1001ul}) {  // in the vector body and in the scalar tail
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), kInf}) {
      std::vector<float> y = x;
      y[where] = bad;
      max_value(y, &invalid);
      EXPECT_TRUE(invalid) << where;
      EXPECT_EQ(first_invalid_logit(y), static_cast<int64_t>(where));
    }
  }
  EXPECT_EQ(first_index_of(x, x[600]), std::find(x.begin(), x.end(), x[600]) - x.begin());
  EXPECT_EQ(first_index_of(x, 1e9f), -1);
}

// Block-skipping helpers: the first block holding a qualifying entry, else the tail start.
TEST(LogitsMath, NextBlockHelpers) {
  std::vector<float> x(100, 0.0f);
  x[37] = 2.0f;
  EXPECT_EQ(next_block_at_least(x, 0, 2.0f), 32u);
  EXPECT_EQ(next_block_greater(x, 0, 2.0f), 96u);   // none: tail start (0 + 16 * 6)
  EXPECT_EQ(next_block_at_least(x, 5, 2.0f), 37u);  // blocks [5, 21), [21, 37), [37, 53)
  EXPECT_EQ(next_block_greater(x, 0, 1.0f), 32u);
}

TEST(TopSelection, TopNIndicesMatchFullSortWithLowerIdOnTies) {
  std::mt19937_64 gen(3);
  std::vector<int32_t> got;
  for (size_t v : kSizes) {
    std::vector<float> x = random_logits(v, gen);
    // Quantize to force many ties.
    for (float& f : x) f = std::round(f * 4) / 4;
    std::vector<int32_t> order(v);
    for (size_t i = 0; i < v; ++i) order[i] = static_cast<int32_t>(i);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return x[a] > x[b]; });
    for (int n : {0, 1, 5, 20, 64}) {
      if (static_cast<size_t>(n) > v) continue;
      top_n_indices(x, n, got);
      ASSERT_EQ(got, std::vector<int32_t>(order.begin(), order.begin() + n))
          << "v=" << v << " n=" << n;
    }
  }
  // Increasing rows are the heap's worst case (every entry displaces the minimum).
  std::vector<float> rising(5000);
  for (size_t i = 0; i < rising.size(); ++i) rising[i] = static_cast<float>(i) * 0.5f;
  top_n_indices(rising, 3, got);
  EXPECT_EQ(got, (std::vector<int32_t>{4999, 4998, 4997}));
}

TEST(TopSelection, KthLargestCountsDuplicates) {
  std::mt19937_64 gen(4);
  std::vector<float> scratch;
  for (size_t v : kSizes) {
    std::vector<float> x = random_logits(v, gen);
    for (float& f : x) f = std::round(f * 2) / 2;
    std::vector<float> sorted = x;
    std::sort(sorted.begin(), sorted.end(), std::greater<float>());
    for (int k : {1, 2, 7, 50, 2048, 2049, 10000}) {
      if (static_cast<size_t>(k) > v) continue;
      ASSERT_EQ(kth_largest(x, k, scratch), sorted[k - 1]) << "v=" << v << " k=" << k;
    }
  }
}

TEST(TopSelection, TopKWithTiesReturnsEveryIndexAtOrAboveTheKthValue) {
  std::mt19937_64 gen(41);
  std::vector<float> heap;
  std::vector<int32_t> got;
  for (size_t v : kSizes) {
    for (int quantize : {0, 1}) {
      std::vector<float> x = random_logits(v, gen);
      if (quantize) {
        for (float& f : x) f = std::round(f * 2) / 2;
      }
      if (v > 20) std::fill(x.begin() + v / 2, x.begin() + v / 2 + 9, -kInf);  // masked tokens
      std::vector<float> sorted = x;
      std::sort(sorted.begin(), sorted.end(), std::greater<float>());
      for (int k : {1, 3, 50, 700, 2048, 5000}) {
        if (static_cast<size_t>(k) > v) continue;
        const float kth = top_k_with_ties(x, k, heap, got);
        ASSERT_EQ(kth, sorted[k - 1]) << "v=" << v << " k=" << k;
        std::vector<int32_t> want;
        for (size_t i = 0; i < v; ++i)
          if (x[i] >= sorted[k - 1]) want.push_back(static_cast<int32_t>(i));
        ASSERT_EQ(got, want) << "v=" << v << " k=" << k << " quantized=" << quantize;
      }
    }
  }
  // Rising rows (every entry raises the threshold) exercise the pruning.
  std::vector<float> rising(10000);
  for (size_t i = 0; i < rising.size(); ++i) rising[i] = static_cast<float>(i / 3);
  EXPECT_EQ(top_k_with_ties(rising, 4, heap, got), 3332.0f);
  EXPECT_EQ(got, (std::vector<int32_t>{9996, 9997, 9998, 9999}));
}

TEST(LogitsProcessors, AllowedTokensAndBias) {
  std::mt19937_64 gen(5);
  std::vector<float> x = random_logits(1001, gen);
  const std::vector<float> raw = x;
  std::vector<float> scratch;
  const std::vector<int32_t> allowed = {1000, 3, 3, 517};
  apply_allowed_tokens(x, allowed, scratch);
  for (size_t i = 0; i < x.size(); ++i) {
    if (i == 1000 || i == 3 || i == 517) {
      ASSERT_EQ(x[i], raw[i]);
    } else {
      ASSERT_EQ(x[i], -kInf);
    }
  }
  x = raw;
  apply_logit_bias(x, {{0, -100.0f}, {999, 2.5f}});
  EXPECT_EQ(x[0], raw[0] - 100.0f);
  EXPECT_EQ(x[999], raw[999] + 2.5f);
  EXPECT_EQ(x[1], raw[1]);
}

TEST(LogitsProcessors, PenaltiesMatchReferenceOnRandomHistories) {
  std::mt19937_64 gen(6);
  for (int trial = 0; trial < 40; ++trial) {
    const size_t v = 50 + gen() % 3000;
    std::vector<float> x = random_logits(v, gen);
    // Histories concentrated on a small set so tokens repeat and overlap prompt/output.
    std::uniform_int_distribution<int32_t> tok(0,
                                               static_cast<int32_t>(std::min<size_t>(v, 40)) - 1);
    testing::RefHistory ref;
    for (int i = 0, n = gen() % 30; i < n; ++i) ref.prompt.push_back(tok(gen));
    for (int i = 0, n = gen() % 60; i < n; ++i) ref.output.push_back(tok(gen));
    TokenHistory history(ref.prompt);
    for (int32_t t : ref.output) history.add_output(t);

    SamplingParams p;
    std::uniform_real_distribution<float> pen(-2.0f, 2.0f);
    p.repetition_penalty = std::uniform_real_distribution<float>(0.3f, 3.0f)(gen);
    p.frequency_penalty = pen(gen);
    p.presence_penalty = pen(gen);
    const std::vector<double> want = testing::ref_processed_logits(x, p, ref);
    ASSERT_TRUE(
        apply_penalties(x, history, p.repetition_penalty, p.frequency_penalty, p.presence_penalty)
            .is_ok());
    for (size_t i = 0; i < v; ++i) ASSERT_NEAR(x[i], want[i], 1e-5 * (1 + std::abs(want[i]))) << i;
  }
}

TEST(TokenHistory, IncrementalCountsMatchRecount) {
  std::mt19937_64 gen(7);
  std::uniform_int_distribution<int32_t> tok(0, 30);
  std::vector<int32_t> prompt(25);
  for (int32_t& t : prompt) t = tok(gen);
  TokenHistory h(prompt);
  std::vector<int32_t> outputs;
  for (int step = 0; step < 500; ++step) {
    // Mostly append; sometimes pop the most recent (a rejected speculative token).
    if (!outputs.empty() && gen() % 4 == 0) {
      h.remove_output(outputs.back());
      outputs.pop_back();
    } else {
      outputs.push_back(tok(gen));
      h.add_output(outputs.back());
    }
    ASSERT_EQ(h.num_output_tokens(), static_cast<int64_t>(outputs.size()));
    for (int32_t t = 0; t <= 31; ++t) {
      ASSERT_EQ(h.output_count(t), std::count(outputs.begin(), outputs.end(), t));
      ASSERT_EQ(h.in_prompt(t), std::find(prompt.begin(), prompt.end(), t) != prompt.end());
    }
  }
  EXPECT_LE(h.entries().size(), 31u);  // distinct tokens only
}

// Top-p on a dense row (histogram bins) and on a sorted list against the naive reference, with
// the cut landing inside groups of tied scores.
TEST(LogitsProcessors, TopPCutoffMatchesReferenceIncludingTies) {
  std::mt19937_64 gen(8);
  std::vector<ScoredToken> scratch;
  std::vector<int32_t> indices;
  for (size_t v : {2ul, 17ul, 97ul, 1000ul, 4099ul, 151936ul}) {
    for (float top_p : {0.05f, 0.5f, 0.9f, 0.999f}) {
      std::vector<float> x = random_logits(v, gen, 1.0 + (gen() % 4));
      for (float& f : x) f = std::round(f * 8) / 8;  // many ties
      const float m = *std::max_element(x.begin(), x.end());
      std::vector<float> scores(v), weights(v);
      std::vector<double> blocks((v + kSumBlock - 1) / kSumBlock);
      const double total = exp_scores(x, m, 1.0f, -kInf, scores, weights, blocks);

      SamplingParams p;
      p.top_p = top_p;
      const std::vector<double> want = testing::ref_probs(x, p, {});
      float want_cutoff = kInf;
      for (size_t i = 0; i < v; ++i)
        if (want[i] > 0) want_cutoff = std::min(want_cutoff, scores[i]);

      EXPECT_EQ(top_p_cutoff_dense(scores, weights, total, top_p, scratch, indices), want_cutoff)
          << "v=" << v << " top_p=" << top_p;
      std::vector<ScoredToken> sorted(v);
      for (size_t i = 0; i < v; ++i) sorted[i] = {scores[i], weights[i], static_cast<int32_t>(i)};
      sort_by_score(sorted);
      EXPECT_EQ(top_p_cutoff_sorted(sorted, total, top_p), want_cutoff)
          << "v=" << v << " top_p=" << top_p;
    }
  }
}

}  // namespace
}  // namespace xy
