// Prompt-lookup speculation: the incremental n-gram index against a brute-force search, the
// proposer's chains and trees, and the trie that merges candidate continuations.
#include <gtest/gtest.h>

#include <random>

#include "engine/spec/ngram_index.h"
#include "engine/spec/ngram_proposer.h"
#include "engine/spec/token_trie.h"

namespace xy::spec {
namespace {

// The most recent earlier occurrence of the longest matching suffix n-gram (n = max..min), by
// brute force; -1 when none.
int brute_force_start(const std::vector<int32_t>& t, int min_n, int max_n) {
  const int last = static_cast<int>(t.size()) - 1;
  for (int n = std::min(max_n, last + 1); n >= min_n; --n) {
    for (int end = last - 1; end >= n - 1; --end) {
      bool same = true;
      for (int i = 0; i < n && same; ++i) same = t[end - i] == t[last - i];
      if (same) return end + 1;
    }
  }
  return -1;
}

TEST(SpecNgramIndex, MatchesBruteForceWhileGrowing) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 20; ++trial) {
    const int alphabet = 2 + trial % 5;  // small alphabets: many repeats
    std::uniform_int_distribution<int32_t> tok(0, alphabet - 1);
    NgramIndex index(1 + trial % 2, 3 + trial % 3, 1);
    std::vector<int32_t> t;
    for (int step = 0; step < 120; ++step) {
      // Grow by 1..3 tokens per "step", as a verify appends several.
      const int add = 1 + step % 3;
      for (int i = 0; i < add; ++i) t.push_back(tok(rng));
      index.extend(t);
      const std::vector<int> got = index.continuations(t);
      const int want = brute_force_start(t, 1 + trial % 2, 3 + trial % 3);
      if (want < 0) {
        EXPECT_TRUE(got.empty()) << "trial " << trial << " step " << step;
      } else {
        ASSERT_FALSE(got.empty()) << "trial " << trial << " step " << step;
        EXPECT_EQ(got.front(), want) << "trial " << trial << " step " << step;
      }
    }
  }
}

TEST(SpecNgramIndex, SeveralMatchesMostRecentFirst) {
  // "5 6 x" occurs three times with different continuations x.
  const std::vector<int32_t> t = {5, 6, 1, 9, 5, 6, 2, 9, 5, 6, 3, 9, 5, 6};
  NgramIndex index(2, 2, 4);
  index.extend(t);
  EXPECT_EQ(index.continuations(t), (std::vector<int>{10, 6, 2}));
  NgramIndex one(2, 2, 1);
  one.extend(t);
  EXPECT_EQ(one.continuations(t), (std::vector<int>{10}));
}

TEST(SpecNgramIndex, NoSelfMatchAndNoMatch) {
  NgramIndex index(1, 3, 2);
  std::vector<int32_t> t = {1, 2, 3};
  index.extend(t);
  EXPECT_TRUE(index.continuations(t).empty());
  t.push_back(2);  // "2" occurred at 1 -> continuation starts at 2
  index.extend(t);
  EXPECT_EQ(index.continuations(t), (std::vector<int>{2}));
}

Request request_with(std::vector<int32_t> prompt, int max_out = 64) {
  Request r;
  r.id = 7;
  r.prompt_tokens = std::move(prompt);
  r.max_output_tokens = max_out;
  return r;
}

// A sequence in the decoding state: prompt computed, one sampled token appended.
Sequence decoding_sequence(std::vector<int32_t> prompt, int32_t sampled, int max_out = 64) {
  Sequence seq(request_with(std::move(prompt), max_out), 0);
  seq.mark_admitted(0, 0);
  const int n = seq.num_tokens();
  seq.apply_step(n, std::span<const int32_t>(&sampled, 1));
  return seq;
}

DraftLengthConfig fixed_length() {
  DraftLengthConfig c;
  c.adaptive = false;
  return c;
}

TEST(SpecNgramProposer, ProposesTheContinuationOfTheLatestMatch) {
  NgramProposer p(NgramConfig{2, 3, 1}, fixed_length());
  Sequence seq = decoding_sequence({10, 11, 12, 13, 14, 20, 10, 11}, 12);
  Sequence* seqs[] = {&seq};
  ASSERT_TRUE(p.propose(seqs, ProposeContext{4, 512, 1}).is_ok());
  // Suffix "10 11 12" matched at 0..2 -> continuation 13 14 20 10.
  EXPECT_EQ(std::vector<int32_t>(seq.draft_tokens().begin(), seq.draft_tokens().end()),
            (std::vector<int32_t>{13, 14, 20, 10}));
  EXPECT_TRUE(seq.draft_parents().empty());
}

TEST(SpecNgramProposer, NoMatchNoDrafts) {
  NgramProposer p(NgramConfig{2, 3, 1}, fixed_length());
  Sequence seq = decoding_sequence({1, 2, 3, 4}, 5);
  Sequence* seqs[] = {&seq};
  ASSERT_TRUE(p.propose(seqs, ProposeContext{4, 512, 1}).is_ok());
  EXPECT_TRUE(seq.draft_tokens().empty());
}

TEST(SpecNgramProposer, ContinuationCutAtMaxOutput) {
  NgramProposer p(NgramConfig{1, 2, 1}, fixed_length());
  // max_output 3, one token generated: at most 3 - 1 - 1 = 1 draft.
  Sequence seq = decoding_sequence({4, 5, 6, 7, 4, 5}, 6, /*max_out=*/3);
  Sequence* seqs[] = {&seq};
  ASSERT_TRUE(p.propose(seqs, ProposeContext{4, 512, 1}).is_ok());
  EXPECT_EQ(seq.draft_tokens().size(), 1u);
}

TEST(SpecNgramProposer, TreeMergesMatches) {
  NgramProposer p(NgramConfig{2, 2, 3}, fixed_length());
  Sequence seq = decoding_sequence({5, 6, 1, 9, 5, 6, 2, 9, 5, 6, 3, 9, 5}, 6);
  Sequence* seqs[] = {&seq};
  ASSERT_TRUE(p.propose(seqs, ProposeContext{6, 512, 1}).is_ok());
  // Matches (most recent first) continue with 3 9.., 2 9.., 1 9..; each gets 6 / 3 = 2 nodes.
  const std::vector<int32_t> tokens(seq.draft_tokens().begin(), seq.draft_tokens().end());
  const std::vector<int32_t> parents(seq.draft_parents().begin(), seq.draft_parents().end());
  ASSERT_EQ(tokens.size(), 6u);
  EXPECT_EQ(tokens, (std::vector<int32_t>{3, 9, 2, 9, 1, 9}));
  EXPECT_EQ(parents, (std::vector<int32_t>{-1, 0, -1, 2, -1, 4}));
}

TEST(SpecNgramProposer, ReleaseDropsTheIndexAndStatsCount) {
  NgramProposer p(NgramConfig{1, 2, 1}, fixed_length());
  Sequence seq = decoding_sequence({1, 2, 1, 2, 1}, 2);
  Sequence* seqs[] = {&seq};
  ASSERT_TRUE(p.propose(seqs, ProposeContext{3, 512, 1}).is_ok());
  ASSERT_FALSE(seq.draft_tokens().empty());
  p.observe(seq, 3, 1);
  p.observe(seq, 2, 2);
  const SpecStats s = p.stats();
  EXPECT_EQ(s.num_verifies, 2);
  EXPECT_EQ(s.num_draft_tokens, 5);
  EXPECT_EQ(s.num_accepted_tokens, 3);
  EXPECT_EQ(s.proposed_at, (std::vector<int64_t>{2, 2, 1}));
  EXPECT_EQ(s.accepted_at, (std::vector<int64_t>{2, 1, 0}));
  p.release(seq.id());
  ASSERT_TRUE(p.propose(seqs, ProposeContext{3, 512, 1}).is_ok());  // rebuilt from scratch
  EXPECT_FALSE(seq.draft_tokens().empty());
}

TEST(SpecTokenTrie, SharesPrefixesAndRespectsTheBudget) {
  TokenTrie trie;
  EXPECT_EQ(trie.add_path(std::vector<int32_t>{1, 2, 3}, 10), 3);
  EXPECT_TRUE(trie.is_chain());
  EXPECT_EQ(trie.add_path(std::vector<int32_t>{1, 2, 4}, 10), 1);
  EXPECT_EQ(trie.add_path(std::vector<int32_t>{5, 6, 7}, 5), 1);  // cut at 5 nodes
  EXPECT_FALSE(trie.is_chain());
  EXPECT_EQ(trie.tokens(), (std::vector<int32_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(trie.parents(), (std::vector<int32_t>{-1, 0, 1, 1, -1}));
  EXPECT_EQ(trie.add_child(0, 2), 1);  // existing sibling
}

}  // namespace
}  // namespace xy::spec
