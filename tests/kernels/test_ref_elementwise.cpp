// silu_mul, residual add and the embedding gather against direct formulas.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "kernels/reference/activation.h"
#include "kernels/reference/embedding.h"
#include "kernels/reference/residual.h"

namespace xy::ref {
namespace {

TEST(SiluMul, MatchesDoubleIncludingExtremes) {
  std::mt19937 rng(21);
  std::normal_distribution<float> dist(0.0f, 4.0f);
  std::vector<float> gate(1001), up(1001);
  for (size_t i = 0; i < gate.size(); ++i) {
    gate[i] = dist(rng);
    up[i] = dist(rng);
  }
  gate[0] = -100.0f;  // exp overflow path
  gate[1] = 100.0f;
  gate[2] = 0.0f;
  std::vector<float> out(gate.size());
  silu_mul(gate.data(), up.data(), out.data(), gate.size());
  for (size_t i = 0; i < gate.size(); ++i) {
    const double g = gate[i];
    const double expect = g / (1.0 + std::exp(-g)) * up[i];
    EXPECT_NEAR(out[i], expect, 1e-6 * (std::abs(expect) + 1e-6)) << "gate " << g;
    EXPECT_TRUE(std::isfinite(out[i]));
  }
}

TEST(Residual, AddsInPlace) {
  std::vector<float> a = {1.5f, -2.0f, 3.25f}, b = {0.5f, 2.0f, -1.0f};
  add(a.data(), b.data(), a.data(), a.size());
  EXPECT_EQ(a, (std::vector<float>{2.0f, 0.0f, 2.25f}));
}

TEST(Embedding, GathersRowsOfF32AndBf16Tables) {
  std::mt19937 rng(22);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const int vocab = 37, hidden = 19;
  std::vector<float> table(static_cast<size_t>(vocab) * hidden);
  for (float& x : table) x = dist(rng);
  std::vector<uint16_t> table_bf16(table.size());
  convert_from_f32(DType::kBF16, table.data(), table_bf16.data(), table.size());
  const std::vector<int32_t> ids = {36, 0, 5, 5, 17};
  std::vector<float> out(ids.size() * hidden), out_bf16(out.size());
  embedding(table.data(), DType::kF32, vocab, hidden, ids.data(), static_cast<int>(ids.size()),
            out.data());
  embedding(table_bf16.data(), DType::kBF16, vocab, hidden, ids.data(),
            static_cast<int>(ids.size()), out_bf16.data());
  for (size_t t = 0; t < ids.size(); ++t) {
    for (int i = 0; i < hidden; ++i) {
      const float src = table[static_cast<size_t>(ids[t]) * hidden + i];
      EXPECT_EQ(out[t * hidden + i], src);
      EXPECT_EQ(out_bf16[t * hidden + i], bf16_to_f32(f32_to_bf16(src)));
    }
  }
}

}  // namespace
}  // namespace xy::ref
