// The load-adaptive draft length: drafts under light load and good acceptance, none under heavy
// load or poor acceptance, recovery after a quiet period, and the budget cap.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/spec/draft_length_policy.h"

namespace xy::spec {
namespace {

TEST(SpecDraftLengthPolicy, ExpectedTokens) {
  EXPECT_DOUBLE_EQ(DraftLengthPolicy::expected_tokens(0.5, 0), 1.0);
  EXPECT_DOUBLE_EQ(DraftLengthPolicy::expected_tokens(0.5, 2), 1.75);
  EXPECT_DOUBLE_EQ(DraftLengthPolicy::expected_tokens(1.0, 4), 5.0);
  EXPECT_NEAR(DraftLengthPolicy::expected_tokens(0.8, 5), (1 - std::pow(0.8, 6)) / 0.2, 1e-12);
}

TEST(SpecDraftLengthPolicy, HighAcceptanceLightLoadDraftsTheMax) {
  DraftLengthPolicy p;
  for (int i = 0; i < 10; ++i) p.observe(1, 4, 4);  // everything accepted
  EXPECT_GT(p.acceptance(1), 0.9);
  EXPECT_EQ(p.choose(1, 4, /*num_running=*/1, /*budget=*/512), 4);
}

TEST(SpecDraftLengthPolicy, LowAcceptanceDropsToZero) {
  DraftLengthPolicy p;
  for (int i = 0; i < 10; ++i) p.observe(1, 4, 0);  // nothing accepted
  EXPECT_LT(p.acceptance(1), 0.15);
  EXPECT_EQ(p.choose(1, 4, 1, 512), 0);
}

TEST(SpecDraftLengthPolicy, HeavyLoadDropsToZeroEvenWithGoodAcceptance) {
  DraftLengthPolicy p;
  for (int i = 0; i < 10; ++i) p.observe(1, 4, 3);
  const int light = p.choose(1, 4, 1, 4096);
  const int heavy = p.choose(1, 4, 256, 4096);
  EXPECT_GT(light, 0);
  EXPECT_EQ(heavy, 0);
  // Monotone in the load.
  int prev = light;
  for (int n : {2, 4, 8, 16, 32, 64, 128}) {
    const int k = p.choose(1, 4, n, 4096);
    EXPECT_LE(k, prev) << "n = " << n;
    prev = k;
  }
}

TEST(SpecDraftLengthPolicy, BudgetCapsTheLength) {
  DraftLengthConfig c;
  c.adaptive = false;
  DraftLengthPolicy p(c);
  EXPECT_EQ(p.choose(1, 8, 1, 512), 8);
  EXPECT_EQ(p.choose(1, 8, 16, 64), 3);  // 16 * (1 + 3) = 64
  EXPECT_EQ(p.choose(1, 8, 64, 64), 0);
  EXPECT_EQ(p.choose(1, 0, 1, 512), 0);
}

TEST(SpecDraftLengthPolicy, ExpensiveDraftModelDraftsLess) {
  DraftLengthConfig cheap, costly;
  costly.draft_cost_ratio = 0.5;
  DraftLengthPolicy a(cheap), b(costly);
  for (int i = 0; i < 5; ++i) {
    a.observe(1, 4, 2);
    b.observe(1, 4, 2);
  }
  EXPECT_LE(b.choose(1, 8, 1, 512), a.choose(1, 8, 1, 512));
  EXPECT_GT(a.goodput(0.7, 3, 1), b.goodput(0.7, 3, 1));
}

TEST(SpecDraftLengthPolicy, QuietRequestsAreProbedAgain) {
  DraftLengthPolicy p;
  for (int i = 0; i < 10; ++i) p.observe(1, 4, 0);
  ASSERT_EQ(p.choose(1, 4, 1, 512), 0);
  int k = 0;
  for (int step = 0; step < 200 && k == 0; ++step) k = p.choose(1, 4, 1, 512);
  EXPECT_GT(k, 0);  // the prior came back
  p.release(1);
  EXPECT_DOUBLE_EQ(p.acceptance(1), p.acceptance(999));  // back to the proposer-wide prior
}

TEST(SpecDraftLengthPolicy, NewRequestsStartFromTheProposersAcceptance) {
  DraftLengthPolicy p;
  EXPECT_DOUBLE_EQ(p.acceptance(2), p.config().prior_acceptance);
  for (int i = 0; i < 50; ++i) p.observe(1, 4, 4);
  EXPECT_GT(p.acceptance(2), 0.9);  // never observed itself
  for (int i = 0; i < 300; ++i) p.observe(3, 4, 0);
  EXPECT_LT(p.acceptance(2), 0.2);
}

TEST(SpecDraftLengthPolicy, ProbesOncePerIntervalUnderLoad) {
  DraftLengthConfig c;
  c.probe_interval = 8;
  DraftLengthPolicy p(c);
  int probes = 0;
  for (int step = 0; step < 64; ++step) {
    const int k = p.choose(1, 4, /*num_running=*/64, 4096);
    EXPECT_LE(k, 1);
    probes += k;
  }
  EXPECT_EQ(probes, 8);
  // A probe that shows high acceptance makes drafting pay under moderate load.
  DraftLengthPolicy q(c);
  for (int i = 0; i < 20; ++i) q.observe(1, 1, 1);
  EXPECT_GE(q.choose(1, 4, 16, 4096), 1);
  c.probe_interval = 0;
  DraftLengthPolicy never(c);
  for (int step = 0; step < 64; ++step) EXPECT_EQ(never.choose(1, 4, 64, 4096), 0);
}

TEST(SpecDraftLengthPolicy, NoProbesWhereEvenPerfectAcceptanceWouldNotPay) {
  DraftLengthConfig c;
  c.probe_interval = 8;
  c.draft_cost_ratio = 0.27;  // the shipped xy-draft against xy-target
  DraftLengthPolicy p(c);
  for (int i = 0; i < 10; ++i) p.observe(1, 4, 0);
  // 16 running: with W = 4 a draft model's k = 1 step costs 4 + 32 + 0.27 * 20 = 41.4 for at
  // most 2 tokens, plain decoding 20 for 1: no acceptance rate makes it pay, so no probe.
  ASSERT_LT(p.goodput(1.0, 1, 16), p.goodput(1.0, 0, 16));
  for (int step = 0; step < 64; ++step) EXPECT_EQ(p.choose(1, 4, 16, 4096), 0) << step;
  // Alone it could pay: the probes come back (after the prior has, or once per interval).
  int probes = 0;
  for (int step = 0; step < 64; ++step) probes += p.choose(1, 4, 1, 4096) > 0;
  EXPECT_GT(probes, 0);
}

}  // namespace
}  // namespace xy::spec
