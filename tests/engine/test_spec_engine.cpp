// Speculative decoding end to end through xy::Engine on the tiny random checkpoint:
//   * greedy tokens are bitwise identical with speculation off, n-gram, n-gram tree, draft model,
//     draft-model tree, and with the adaptive draft length (the determinism promise), also when
//     a tiny KV pool forces preemption;
//   * with the target itself as the draft model every greedy draft is accepted, and a tree whose
//     accepted path is not contiguous (its K/V compacted) still decodes identically;
//   * seeded sampled outputs are identical too (verification samples each token as plain decoding
//     would), and keep their distribution (two-sample chi-square, spec off vs on).
// Random weights make n-gram / small-draft acceptance low, which is fine: correctness is what is
// checked here; prompts repeat fragments so that n-gram drafts are proposed and partly accepted.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <random>

#include "engine/engine.h"
#include "spec_test_models.h"
#include "test_sampling_reference.h"

namespace xy {
namespace {

using testing::make_engine;
using testing::random_tokens;
using testing::test_engine_config;

// Prompts of repeated fragments (so prompt lookup has something to find), some sharing a prefix.
std::vector<EngineRequest> workload(int n, uint64_t seed) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  const int vocab = testing::tiny_model().tokenizer_vocab;
  const std::vector<int32_t> shared = random_tokens(rng, 18, vocab);
  std::vector<EngineRequest> out;
  for (int i = 0; i < n; ++i) {
    std::vector<int32_t> prompt = i % 2 == 0 ? shared : std::vector<int32_t>{};
    const std::vector<int32_t> frag = random_tokens(rng, 3 + i % 4, vocab);
    for (int r = 0; r < 2 + i % 3; ++r) {
      prompt.insert(prompt.end(), frag.begin(), frag.end());
      prompt.push_back(random_tokens(rng, 1, vocab)[0]);
    }
    out.push_back(testing::greedy_request(std::move(prompt), 6 + (i * 7) % 19));
  }
  return out;
}

struct SpecRun {
  std::vector<std::vector<int32_t>> tokens;
  EngineStats stats;
};

SpecRun run(const std::vector<EngineRequest>& reqs, EngineConfig cfg,
            std::unique_ptr<spec::Proposer> proposer, int k) {
  cfg.num_speculative_tokens = proposer ? k : 0;
  auto engine = make_engine(cfg, std::move(proposer));
  Result<std::vector<StreamDelta>> out = engine->generate(reqs);
  XY_CHECK_MSG(out.is_ok(), out.status().to_string().c_str());
  SpecRun r;
  for (const StreamDelta& d : *out) r.tokens.push_back(d.token_ids);
  r.stats = engine->stats();
  XY_CHECK(engine->validate_kv().is_ok());
  XY_CHECK(engine->num_used_kv_blocks() == 0);
  return r;
}

struct Variant {
  const char* name;
  std::function<std::unique_ptr<spec::Proposer>()> make;
  int k;
};

// All variants, or (small = true, for the sanitizer run) the ones covering chain and tree
// verification with and without rejections.
std::vector<Variant> variants(bool small = false) {
  using testing::make_draft_proposer;
  using testing::make_ngram_proposer;
  std::vector<Variant> all = {
      {"ngram", [] { return make_ngram_proposer(1); }, 4},
      {"ngram_tree", [] { return make_ngram_proposer(3); }, 6},
      {"ngram_adaptive", [] { return make_ngram_proposer(1, /*adaptive=*/true); }, 4},
      {"draft", [] { return make_draft_proposer(false); }, 3},
      {"draft_tree", [] { return make_draft_proposer(false, 2); }, 6},
      {"self_draft", [] { return make_draft_proposer(true); }, 4},
      {"self_draft_tree", [] { return make_draft_proposer(true, 3); }, 6},
      {"draft_adaptive", [] { return make_draft_proposer(false, 1, true); }, 4},
  };
  if (!small) return all;
  std::vector<Variant> out;
  for (const Variant& v : all) {
    const std::string name = v.name;
    if (name == "ngram" || name == "draft_tree" || name == "self_draft" ||
        name == "self_draft_tree") {
      out.push_back(v);
    }
  }
  return out;
}

void expect_identical_greedy_tokens(int num_requests, int budget, bool small) {
  const std::vector<EngineRequest> reqs = workload(num_requests, 1);
  {
    const EngineConfig cfg = test_engine_config(budget, 16, 256);
    const SpecRun off = run(reqs, cfg, nullptr, 0);
    for (const Variant& v : variants(small)) {
      const SpecRun on = run(reqs, cfg, v.make(), v.k);
      for (size_t i = 0; i < reqs.size(); ++i) {
        EXPECT_EQ(on.tokens[i], off.tokens[i])
            << v.name << " budget " << budget << " request " << i;
      }
      EXPECT_GT(on.stats.num_verify_tokens, 0) << v.name << ": no verify segment ran";
      // The proposer's per-position counters agree with the engine's totals.
      EXPECT_EQ(on.stats.spec.num_draft_tokens, on.stats.num_draft_tokens) << v.name;
      EXPECT_EQ(on.stats.spec.num_accepted_tokens, on.stats.num_accepted_tokens) << v.name;
      ASSERT_FALSE(on.stats.spec.proposed_at.empty()) << v.name;
      EXPECT_EQ(on.stats.spec.proposed_at[0], on.stats.spec.num_verifies) << v.name;
      const std::string name = v.name;
      if (name == "self_draft") {
        // The target drafting for itself: every granted greedy draft matches.
        EXPECT_EQ(on.stats.num_accepted_tokens, on.stats.num_draft_tokens) << budget;
        EXPECT_LT(on.stats.num_steps, off.stats.num_steps) << budget;
      }
      if (name == "self_draft_tree") {
        // Chain nodes sit at rows 1, 4, 7.. (two siblings each): the accepted path is compacted.
        EXPECT_GT(on.stats.num_accepted_tokens, 0);
        EXPECT_LT(on.stats.num_steps, off.stats.num_steps) << budget;
      }
    }
  }
}

TEST(SpecEngine, GreedyTokensIdenticalForEveryMethod) {
  expect_identical_greedy_tokens(8, 24, true);
}

TEST(SpecEngine, GreedyTokensIdenticalForEveryMethodLongRunning) {
  expect_identical_greedy_tokens(16, 24, false);
  expect_identical_greedy_tokens(16, 128, false);
}

void expect_identical_under_preemption(int num_requests, bool small) {
  const std::vector<EngineRequest> reqs = workload(num_requests, 2);
  int blocks = 0;
  for (const EngineRequest& r : reqs) {
    blocks =
        std::max(blocks, (static_cast<int>(r.prompt_tokens.size()) + r.max_tokens + 3) / 4 + 1);
  }
  const EngineConfig cfg = test_engine_config(64, 4, blocks, /*prefix_caching=*/true);
  const SpecRun off = run(reqs, test_engine_config(64, 16, 256), nullptr, 0);
  for (const Variant& v : variants(small)) {
    const SpecRun on = run(reqs, cfg, v.make(), v.k);
    EXPECT_GT(on.stats.num_preemptions, 0) << v.name;
    for (size_t i = 0; i < reqs.size(); ++i) {
      EXPECT_EQ(on.tokens[i], off.tokens[i]) << v.name << " request " << i;
    }
  }
}

TEST(SpecEngine, PreemptionWithSpeculationKeepsTokens) {
  expect_identical_under_preemption(6, true);
}

TEST(SpecEngine, PreemptionWithSpeculationKeepsTokensLongRunning) {
  expect_identical_under_preemption(12, false);
}

// Verification samples every emitted token exactly as plain decoding would (same logits, same
// history, same draw of the request's stream), so seeded sampled outputs do not change either.
TEST(SpecEngine, SeededSamplingIdenticalWithSpeculation) {
  std::vector<EngineRequest> reqs = workload(8, 3);
  for (size_t i = 0; i < reqs.size(); ++i) {
    reqs[i].sampling.temperature = 0.8f;
    reqs[i].sampling.top_p = 0.9f;
    reqs[i].sampling.top_k = 3;  // random weights give flat rows: keep drafts acceptable
    reqs[i].sampling.presence_penalty = 0.3f;
    reqs[i].sampling.seed = 77 + i;
  }
  const EngineConfig cfg = test_engine_config(32, 16, 256);
  const SpecRun off = run(reqs, cfg, nullptr, 0);
  for (const Variant& v : variants(/*small=*/true)) {
    const SpecRun on = run(reqs, cfg, v.make(), v.k);
    EXPECT_GT(on.stats.num_verify_tokens, 0) << v.name;
    if (std::string(v.name).rfind("self", 0) == 0) {
      EXPECT_GT(on.stats.num_accepted_tokens, 0) << v.name;  // accepted and rejected both occur
      EXPECT_LT(on.stats.num_accepted_tokens, on.stats.num_draft_tokens) << v.name;
    }
    for (size_t i = 0; i < reqs.size(); ++i) {
      EXPECT_EQ(on.tokens[i], off.tokens[i]) << v.name << " request " << i;
    }
  }
}

// The joint distribution of the first three sampled tokens of one prompt over many seeds, with
// speculation off and on (the target drafting for itself, so drafts are often accepted and often
// rejected), compared by a two-sample chi-square test.
std::map<std::vector<int32_t>, int64_t> sampled_histogram(std::unique_ptr<spec::Proposer> p, int k,
                                                          int n) {
  std::mt19937 rng(9);
  const std::vector<int32_t> prompt = random_tokens(rng, 12, testing::tiny_model().tokenizer_vocab);
  std::vector<EngineRequest> reqs;
  for (int i = 0; i < n; ++i) {
    EngineRequest r;
    r.prompt_tokens = prompt;
    r.max_tokens = 3;
    r.stop.ignore_eos = true;
    r.sampling.temperature = 1.5f;
    r.sampling.top_k = 2;
    r.sampling.seed = 5000 + static_cast<uint64_t>(i);
    reqs.push_back(std::move(r));
  }
  EngineConfig cfg = test_engine_config(512, 16, 1024);
  cfg.max_num_seqs = 128;
  const SpecRun out = run(reqs, cfg, std::move(p), k);
  std::map<std::vector<int32_t>, int64_t> h;
  for (const auto& t : out.tokens) ++h[t];
  return h;
}

TEST(SpecEngine, SampledDistributionUnchangedLongRunning) {
  const int n = 3000;
  const auto off = sampled_histogram(nullptr, 0, n);
  const auto on = sampled_histogram(testing::make_draft_proposer(true, 1), 2, n);
  const auto tree = sampled_histogram(testing::make_draft_proposer(true, 2), 4, n);
  for (const auto* other : {&on, &tree}) {
    // Two-sample chi-square over the union of outcomes (equal sample sizes), cells pooled when
    // both counts are small.
    std::map<std::vector<int32_t>, std::pair<int64_t, int64_t>> cells;
    for (const auto& [k, c] : off) cells[k].first = c;
    for (const auto& [k, c] : *other) cells[k].second = c;
    double stat = 0;
    int df = -1;
    int64_t pooled_a = 0, pooled_b = 0;
    for (const auto& [k, ab] : cells) {
      if (ab.first + ab.second < 10) {
        pooled_a += ab.first;
        pooled_b += ab.second;
        continue;
      }
      const double d = static_cast<double>(ab.first - ab.second);
      stat += d * d / static_cast<double>(ab.first + ab.second);
      ++df;
    }
    if (pooled_a + pooled_b > 0) {
      const double d = static_cast<double>(pooled_a - pooled_b);
      stat += d * d / static_cast<double>(pooled_a + pooled_b);
      ++df;
    }
    ASSERT_GE(df, 3);  // top_k 2 over 3 tokens: up to 8 outcomes
    EXPECT_LT(stat, testing::chi_square_critical_999(df)) << "df " << df;
  }
}

}  // namespace
}  // namespace xy
