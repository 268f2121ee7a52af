// Speculative verification. The central property (issue 4's acceptance test): rejection sampling
// leaves the target distribution unchanged, checked by chi-square over >= 100k verifications on
// an 8-token vocabulary with random target and draft distributions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "engine/sampling/rejection_sampler.h"
#include "test_sampling_reference.h"

namespace xy {
namespace {

constexpr int kVocab = 8;
// Chi-square(7) upper 0.1% point; seeds are fixed, so each test is deterministic.
constexpr double kChiSquare7Critical999 = 24.322;

std::vector<double> random_distribution(std::mt19937_64& gen, double zero_fraction) {
  std::normal_distribution<double> normal(0.0, 1.2);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<double> p(kVocab);
  double z = 0;
  for (double& x : p) {
    x = unit(gen) < zero_fraction ? 0.0 : std::exp(normal(gen));
    z += x;
  }
  if (z == 0) p[0] = z = 1;
  for (double& x : p) x /= z;
  return p;
}

int32_t draw(const std::vector<double>& p, std::mt19937_64& gen) {
  double u = std::uniform_real_distribution<double>(0.0, 1.0)(gen), c = 0;
  for (int i = 0; i < kVocab; ++i) {
    c += p[i];
    if (u < c && p[i] > 0) return i;
  }
  for (int i = kVocab - 1; i >= 0; --i)
    if (p[i] > 0) return i;
  return 0;
}

void append(std::vector<float>& flat, const std::vector<double>& p) {
  for (double x : p) flat.push_back(static_cast<float>(x));
}

// For each draft position j (and the bonus position k+1): among verifications that reached it,
// the token emitted there must follow p_j.
void check_preserves_target(int k, bool deterministic_proposer, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::vector<std::vector<double>> p, q;
  for (int j = 0; j <= k; ++j) p.push_back(random_distribution(gen, j == 0 ? 0.25 : 0.0));
  for (int j = 0; j < k; ++j) q.push_back(random_distribution(gen, j == 0 ? 0.25 : 0.0));
  // Position 1's draft must be able to propose tokens that p_1 gives probability 0 and vice versa.
  std::vector<float> target, draft_probs;
  for (const auto& row : p) append(target, row);
  for (const auto& row : q) append(draft_probs, row);
  // A deterministic proposer always proposes the same tokens (q = one-hot): p_j's second most
  // likely token, so that both acceptance and rejection are frequent.
  std::vector<int32_t> fixed(k);
  for (int j = 0; j < k; ++j) {
    std::vector<int32_t> order(kVocab);
    for (int i = 0; i < kVocab; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](int32_t a, int32_t b) { return p[j][a] > p[j][b]; });
    fixed[j] = order[1];
  }

  const int trials = 200000;
  std::vector<std::vector<int64_t>> counts(k + 1, std::vector<int64_t>(kVocab, 0));
  int64_t accepted_first = 0;
  RequestRng rng(seed ^ 0x5eed);
  std::vector<int32_t> tokens(k);
  for (int t = 0; t < trials; ++t) {
    for (int j = 0; j < k; ++j) tokens[j] = deterministic_proposer ? fixed[j] : draw(q[j], gen);
    DraftProposal proposal{tokens, deterministic_proposer ? std::span<const float>()
                                                          : std::span<const float>(draft_probs)};
    auto out = verify_draft(proposal, target, kVocab, /*greedy=*/false, rng);
    ASSERT_TRUE(out.is_ok()) << out.status().to_string();
    ASSERT_EQ(out->tokens.size(), static_cast<size_t>(out->num_accepted) + 1);
    for (int j = 0; j < out->num_accepted; ++j) ASSERT_EQ(out->tokens[j], tokens[j]);
    for (size_t j = 0; j < out->tokens.size(); ++j) ++counts[j][out->tokens[j]];
    accepted_first += out->num_accepted > 0;
  }
  for (int j = 0; j <= k; ++j) {
    int64_t reached = 0;
    for (int64_t c : counts[j]) reached += c;
    for (int i = 0; i < kVocab; ++i) {
      if (p[j][i] == 0) {
        ASSERT_EQ(counts[j][i], 0) << "position " << j + 1 << " emitted impossible token " << i;
      }
    }
    if (reached < 20000) continue;  // too few samples for a meaningful test at this depth
    const testing::ChiSquare chi = testing::chi_square(counts[j], p[j]);
    const double critical =
        chi.df == 7 ? kChiSquare7Critical999 : testing::chi_square_critical_999(chi.df);
    EXPECT_LT(chi.statistic, critical)
        << "position " << j + 1 << " (" << reached << " samples, df " << chi.df << ")";
  }
  // Acceptance rate at position 1 is sum_i min(p_i, q_i) (one-hot q: p(d)).
  double expected = 0;
  for (int i = 0; i < kVocab; ++i)
    expected +=
        deterministic_proposer ? (i == fixed[0] ? p[0][i] : 0.0) : std::min(p[0][i], q[0][i]);
  const double sd = std::sqrt(expected * (1 - expected) / trials);
  EXPECT_NEAR(static_cast<double>(accepted_first) / trials, expected, 5 * sd + 1e-9);
}

TEST(RejectionSampler, PreservesTargetDistributionWithDraftModel) {
  check_preserves_target(/*k=*/1, false, 101);
  check_preserves_target(/*k=*/3, false, 202);
}

TEST(RejectionSampler, PreservesTargetDistributionWithDeterministicProposer) {
  check_preserves_target(/*k=*/2, true, 303);
}

TEST(RejectionSampler, GreedyAcceptsWhileDraftMatchesArgmax) {
  // Rows: argmax 3, argmax 1 (tie with 5 -> lower id), argmax 6, argmax 0 (bonus).
  std::vector<float> target(4 * kVocab, 0.05f);
  target[0 * kVocab + 3] = 0.6f;
  target[1 * kVocab + 1] = 0.4f;
  target[1 * kVocab + 5] = 0.4f;
  target[2 * kVocab + 6] = 0.5f;
  target[3 * kVocab + 0] = 0.7f;
  RequestRng rng(1);
  auto verify = [&](std::vector<int32_t> drafts) {
    auto out = verify_draft({drafts, {}}, target, kVocab, /*greedy=*/true, rng);
    EXPECT_TRUE(out.is_ok());
    return *out;
  };
  VerifyOutput all = verify({3, 1, 6});
  EXPECT_EQ(all.num_accepted, 3);
  EXPECT_EQ(all.tokens, (std::vector<int32_t>{3, 1, 6, 0}));
  VerifyOutput tie = verify({3, 5, 6});
  EXPECT_EQ(tie.num_accepted, 1);
  EXPECT_EQ(tie.tokens, (std::vector<int32_t>{3, 1}));
  VerifyOutput none = verify({2, 1, 6});
  EXPECT_EQ(none.num_accepted, 0);
  EXPECT_EQ(none.tokens, (std::vector<int32_t>{3}));
  EXPECT_EQ(rng.position(), 0u);
  // k = 0 is a plain decode.
  auto plain =
      verify_draft({{}, {}}, std::span<const float>(target).first(kVocab), kVocab, true, rng);
  ASSERT_TRUE(plain.is_ok());
  EXPECT_EQ(plain->tokens, (std::vector<int32_t>{3}));
}

TEST(RejectionSampler, SameSeedSameVerification) {
  std::mt19937_64 gen(9);
  std::vector<float> target, draft;
  for (int j = 0; j < 5; ++j) append(target, random_distribution(gen, 0));
  for (int j = 0; j < 4; ++j) append(draft, random_distribution(gen, 0));
  const std::vector<int32_t> tokens{1, 4, 4, 7};
  for (uint64_t seed : {1ull, 2ull, 3ull}) {
    RequestRng a(seed), b(seed);
    for (int i = 0; i < 20; ++i) {
      auto x = verify_draft({tokens, draft}, target, kVocab, false, a);
      auto y = verify_draft({tokens, draft}, target, kVocab, false, b);
      ASSERT_TRUE(x.is_ok() && y.is_ok());
      EXPECT_EQ(x->tokens, y->tokens);
    }
  }
}

TEST(RejectionSampler, MalformedInputsAreErrors) {
  std::vector<float> target(3 * kVocab, 1.0f / kVocab), draft(2 * kVocab, 1.0f / kVocab);
  RequestRng rng(1);
  const std::vector<int32_t> two{1, 2};
  auto msg = [&](const DraftProposal& d, std::span<const float> t) {
    auto out = verify_draft(d, t, kVocab, false, rng);
    EXPECT_FALSE(out.is_ok());
    return out.status().message();
  };
  EXPECT_NE(msg({two, draft}, std::span<const float>(target).first(2 * kVocab))
                .find("expected (k + 1) * vocab = 24"),
            std::string::npos);
  EXPECT_NE(msg({two, std::span<const float>(draft).first(kVocab)}, target).find("k * vocab = 16"),
            std::string::npos);
  const std::vector<int32_t> bad{1, 8};
  EXPECT_NE(msg({bad, draft}, target).find("draft position 2: token 8 outside"), std::string::npos);
  draft[kVocab + 2] = 0.0f;
  EXPECT_NE(msg({two, draft}, target).find("draft position 2: token 2 has draft probability 0"),
            std::string::npos);
  EXPECT_TRUE(verify_draft({two, draft}, target, kVocab, /*greedy=*/true, rng).is_ok());
  std::vector<float> empty_target(3 * kVocab, 0.0f);
  const std::vector<int32_t> none;
  EXPECT_NE(msg({none, {}}, std::span<const float>(empty_target).first(kVocab))
                .find("no positive probability"),
            std::string::npos);
  EXPECT_FALSE(verify_draft({two, {}}, target, 0, false, rng).is_ok());
}

}  // namespace
}  // namespace xy
