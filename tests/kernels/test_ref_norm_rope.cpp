// RMSNorm and RoPE reference kernels against direct double-precision formulas.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>
#include <vector>

#include "kernels/reference/rms_norm.h"
#include "kernels/reference/rope.h"

namespace xy::ref {
namespace {

std::vector<float> random_vector(size_t n, std::mt19937& rng, float mean = 0.0f, float sd = 1.0f) {
  std::normal_distribution<float> dist(mean, sd);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

TEST(RmsNorm, MatchesDoubleFormula) {
  std::mt19937 rng(7);
  for (int dim : {1, 7, 64, 130}) {
    const int rows = 5;
    const auto x = random_vector(static_cast<size_t>(rows) * dim, rng, 0.3f, 2.0f);
    const auto w = random_vector(static_cast<size_t>(dim), rng, 1.0f, 0.1f);
    const float eps = 1e-5f;
    std::vector<float> y(x.size());
    rms_norm(x.data(), w.data(), y.data(), rows, dim, eps);
    std::vector<float> in_place = x;
    rms_norm(in_place.data(), w.data(), in_place.data(), rows, dim, eps);
    EXPECT_EQ(in_place, y);
    for (int r = 0; r < rows; ++r) {
      double ms = 0;
      for (int i = 0; i < dim; ++i) ms += std::pow(x[static_cast<size_t>(r) * dim + i], 2.0);
      ms /= dim;
      const double inv = 1.0 / std::sqrt(ms + eps);
      for (int i = 0; i < dim; ++i) {
        const size_t at = static_cast<size_t>(r) * dim + i;
        const double expect = w[static_cast<size_t>(i)] * x[at] * inv;
        EXPECT_NEAR(y[at], expect, 2e-6 * (std::abs(expect) + 1e-3)) << "dim " << dim;
      }
    }
  }
}

TEST(RmsNorm, PerHeadNormalizesEachHeadSeparately) {
  std::mt19937 rng(8);
  const int n_tokens = 3, n_heads = 5, head_dim = 24;
  auto x = random_vector(static_cast<size_t>(n_tokens) * n_heads * head_dim, rng, 0.0f, 3.0f);
  // Give heads very different scales: a whole-row norm would leave them different.
  for (size_t i = 0; i < x.size(); ++i) x[i] *= static_cast<float>(1 + (i / head_dim) % n_heads);
  const auto w = random_vector(static_cast<size_t>(head_dim), rng, 1.0f, 0.1f);
  std::vector<float> y(x.size());
  rms_norm_heads(x.data(), w.data(), y.data(), n_tokens, n_heads, head_dim, 1e-6f);
  for (int th = 0; th < n_tokens * n_heads; ++th) {
    double ms = 0;
    for (int i = 0; i < head_dim; ++i)
      ms += std::pow(x[static_cast<size_t>(th) * head_dim + i], 2.0);
    const double inv = 1.0 / std::sqrt(ms / head_dim + 1e-6);
    for (int i = 0; i < head_dim; ++i) {
      const size_t at = static_cast<size_t>(th) * head_dim + i;
      const double expect = w[static_cast<size_t>(i)] * x[at] * inv;
      EXPECT_NEAR(y[at], expect, 2e-6 * (std::abs(expect) + 1e-3));
    }
  }
}

// The transformers formulas, written independently in double.
double default_inv_freq(int i, int head_dim, double theta) {
  return 1.0 / std::pow(theta, 2.0 * i / head_dim);
}

double llama3_inv_freq(int i, int head_dim, const RopeFrequencyParams& p) {
  const double f = default_inv_freq(i, head_dim, p.theta);
  const double wavelen = 2 * std::numbers::pi / f;
  const double low_wavelen = p.original_max_position_embeddings / p.low_freq_factor;
  const double high_wavelen = p.original_max_position_embeddings / p.high_freq_factor;
  if (wavelen < high_wavelen) return f;
  if (wavelen > low_wavelen) return f / p.factor;
  const double smooth = (p.original_max_position_embeddings / wavelen - p.low_freq_factor) /
                        (p.high_freq_factor - p.low_freq_factor);
  return (1 - smooth) * f / p.factor + smooth * f;
}

TEST(RopeInvFreq, DefaultAndLinear) {
  for (int head_dim : {2, 16, 64, 128}) {
    RopeFrequencyParams p;
    p.theta = 1e6f;
    const auto def = rope_inv_freq(head_dim, p);
    p.scaling = RopeFrequencyParams::Scaling::kLinear;
    p.factor = 4.0f;
    const auto lin = rope_inv_freq(head_dim, p);
    ASSERT_EQ(def.size(), static_cast<size_t>(head_dim / 2));
    for (int i = 0; i < head_dim / 2; ++i) {
      const double expect = default_inv_freq(i, head_dim, 1e6);
      EXPECT_NEAR(def[static_cast<size_t>(i)], expect, 2e-7 * expect);
      EXPECT_NEAR(lin[static_cast<size_t>(i)], expect / 4, 2e-7 * expect);
    }
  }
}

TEST(RopeInvFreq, Llama3MatchesDirectFormulaAndBands) {
  // The llama3_scaled fixture's parameters: pair 0 unscaled, pair 1 smoothed, pairs 2..7 / 8.
  RopeFrequencyParams p;
  p.theta = 500000.0f;
  p.scaling = RopeFrequencyParams::Scaling::kLlama3;
  p.factor = 8.0f;
  p.low_freq_factor = 1.0f;
  p.high_freq_factor = 4.0f;
  p.original_max_position_embeddings = 64;
  const auto f = rope_inv_freq(16, p);
  for (int i = 0; i < 8; ++i) {
    const double expect = llama3_inv_freq(i, 16, p);
    EXPECT_NEAR(f[static_cast<size_t>(i)], expect, 1e-6 * expect) << i;
  }
  EXPECT_NEAR(f[0], default_inv_freq(0, 16, 500000.0), 1e-7);
  const double d1 = default_inv_freq(1, 16, 500000.0);
  EXPECT_LT(f[1], d1 * 0.99);
  EXPECT_GT(f[1], d1 / 8 * 1.01);
  for (int i = 2; i < 8; ++i) {
    const double d = default_inv_freq(i, 16, 500000.0);
    EXPECT_NEAR(f[static_cast<size_t>(i)], d / 8, 1e-6 * d) << i;
  }
  // A Llama-3.1-sized schedule exercises all three bands too.
  p.original_max_position_embeddings = 8192;
  p.theta = 500000.0f;
  const auto g = rope_inv_freq(128, p);
  for (int i = 0; i < 64; ++i) {
    const double expect = llama3_inv_freq(i, 128, p);
    EXPECT_NEAR(g[static_cast<size_t>(i)], expect, 2e-6 * expect) << i;
  }
}

TEST(Rope, RotatesPairsHalfApartByPositionTimesFrequency) {
  std::mt19937 rng(11);
  const int n_tokens = 6, n_heads = 3, head_dim = 20, half = head_dim / 2;
  RopeFrequencyParams p;
  p.theta = 10000.0f;
  const auto inv_freq = rope_inv_freq(head_dim, p);
  const std::vector<int32_t> positions = {0, 1, 5, 17, 250, 4095};
  std::vector<float> cos(static_cast<size_t>(n_tokens) * half), sin(cos.size());
  rope_cos_sin(positions.data(), n_tokens, inv_freq.data(), half, cos.data(), sin.data());
  const auto x = random_vector(static_cast<size_t>(n_tokens) * n_heads * head_dim, rng);
  auto y = x;
  apply_rope(y.data(), n_tokens, n_heads, head_dim, cos.data(), sin.data());
  for (int t = 0; t < n_tokens; ++t) {
    for (int h = 0; h < n_heads; ++h) {
      const size_t base = (static_cast<size_t>(t) * n_heads + h) * head_dim;
      for (int i = 0; i < half; ++i) {
        const double angle = static_cast<double>(positions[static_cast<size_t>(t)]) *
                             inv_freq[static_cast<size_t>(i)];
        const double a = x[base + i], b = x[base + i + half];
        // (a + ib) * e^{i angle}
        const double re = a * std::cos(angle) - b * std::sin(angle);
        const double im = b * std::cos(angle) + a * std::sin(angle);
        // Large positions: the f32 angle product itself carries ~pos*ulp error.
        const double tol = 1e-6 + 2e-7 * std::abs(angle) * (std::abs(a) + std::abs(b));
        EXPECT_NEAR(y[base + i], re, tol) << "t=" << t << " i=" << i;
        EXPECT_NEAR(y[base + i + half], im, tol) << "t=" << t << " i=" << i;
      }
    }
  }
  // Position 0 is the identity.
  for (int i = 0; i < n_heads * head_dim; ++i)
    EXPECT_EQ(y[static_cast<size_t>(i)], x[static_cast<size_t>(i)]);
}

TEST(Rope, ScoresDependOnlyOnRelativePosition) {
  std::mt19937 rng(12);
  const int head_dim = 32, half = 16;
  RopeFrequencyParams p;
  const auto inv_freq = rope_inv_freq(head_dim, p);
  const auto q = random_vector(head_dim, rng), k = random_vector(head_dim, rng);
  auto score = [&](int32_t pq, int32_t pk) {
    std::vector<float> cq(half), sq(half), ck(half), sk(half);
    rope_cos_sin(&pq, 1, inv_freq.data(), half, cq.data(), sq.data());
    rope_cos_sin(&pk, 1, inv_freq.data(), half, ck.data(), sk.data());
    auto rq = q, rk = k;
    apply_rope(rq.data(), 1, 1, head_dim, cq.data(), sq.data());
    apply_rope(rk.data(), 1, 1, head_dim, ck.data(), sk.data());
    double s = 0;
    for (int i = 0; i < head_dim; ++i)
      s += static_cast<double>(rq[static_cast<size_t>(i)]) * rk[static_cast<size_t>(i)];
    return s;
  };
  EXPECT_NEAR(score(10, 3), score(7, 0), 1e-4);
  EXPECT_NEAR(score(40, 39), score(1, 0), 1e-4);
}

}  // namespace
}  // namespace xy::ref
