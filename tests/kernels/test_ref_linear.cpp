// xy::ref::linear against a double-precision recomputation, for f32, bf16 and f16 weights.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "kernels/reference/linear.h"

namespace xy::ref {
namespace {

std::vector<float> random_vector(size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Stores w in `dtype` and returns (stored bytes, the exact values the kernel sees).
std::pair<std::vector<uint8_t>, std::vector<float>> store_as(const std::vector<float>& w,
                                                             DType dtype) {
  std::vector<uint8_t> bytes(w.size() * dtype_size(dtype));
  convert_from_f32(dtype, w.data(), bytes.data(), w.size());
  std::vector<float> seen(w.size());
  convert_to_f32(dtype, bytes.data(), seen.data(), w.size());
  return {std::move(bytes), std::move(seen)};
}

struct Shape {
  int M, N, K;
};

class LinearTest : public ::testing::TestWithParam<DType> {};

TEST_P(LinearTest, MatchesDoubleReferenceOnAwkwardShapes) {
  const DType dtype = GetParam();
  std::mt19937 rng(1234);
  const Shape shapes[] = {{1, 1, 1}, {1, 33, 7}, {3, 5, 64}, {17, 31, 130}, {5, 64, 97}, {2, 9, 8}};
  for (const Shape& s : shapes) {
    const auto x = random_vector(static_cast<size_t>(s.M) * s.K, rng);
    const auto w = random_vector(static_cast<size_t>(s.N) * s.K, rng, 0.5f);
    const auto bias = random_vector(static_cast<size_t>(s.N), rng);
    const auto [w_bytes, w_seen] = store_as(w, dtype);
    for (bool with_bias : {false, true}) {
      std::vector<float> y(static_cast<size_t>(s.M) * s.N, -1.0f);
      linear(x.data(), w_bytes.data(), dtype, with_bias ? bias.data() : nullptr, y.data(), s.M, s.N,
             s.K);
      for (int m = 0; m < s.M; ++m) {
        for (int n = 0; n < s.N; ++n) {
          double expect = with_bias ? bias[static_cast<size_t>(n)] : 0.0;
          double magnitude = std::abs(expect);
          for (int k = 0; k < s.K; ++k) {
            const double p = static_cast<double>(x[static_cast<size_t>(m) * s.K + k]) *
                             w_seen[static_cast<size_t>(n) * s.K + k];
            expect += p;
            magnitude += std::abs(p);
          }
          const float got = y[static_cast<size_t>(m) * s.N + n];
          // f32 summation error bound ~ K * eps * sum|terms|; use a tighter practical margin.
          EXPECT_NEAR(got, expect, 1e-6 * (magnitude + 1.0) * std::sqrt(s.K + 1.0))
              << "M=" << s.M << " N=" << s.N << " K=" << s.K << " m=" << m << " n=" << n;
        }
      }
    }
  }
}

TEST_P(LinearTest, BatchInvariantBitwise) {
  // A row's result must not depend on how many other rows share the call.
  const DType dtype = GetParam();
  std::mt19937 rng(99);
  const int M = 13, N = 45, K = 77;
  const auto x = random_vector(static_cast<size_t>(M) * K, rng);
  const auto [w_bytes, w_seen] = store_as(random_vector(static_cast<size_t>(N) * K, rng), dtype);
  const auto bias = random_vector(static_cast<size_t>(N), rng);
  std::vector<float> batched(static_cast<size_t>(M) * N);
  linear(x.data(), w_bytes.data(), dtype, bias.data(), batched.data(), M, N, K);
  for (int m = 0; m < M; ++m) {
    std::vector<float> single(static_cast<size_t>(N));
    linear(x.data() + static_cast<size_t>(m) * K, w_bytes.data(), dtype, bias.data(), single.data(),
           1, N, K);
    EXPECT_EQ(0, std::memcmp(single.data(), batched.data() + static_cast<size_t>(m) * N,
                             sizeof(float) * N))
        << "row " << m;
  }
}

INSTANTIATE_TEST_SUITE_P(AllWeightTypes, LinearTest,
                         ::testing::Values(DType::kF32, DType::kBF16, DType::kF16),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST(DotF32, MatchesDoubleForAllTailLengths) {
  std::mt19937 rng(5);
  for (int n = 0; n <= 40; ++n) {
    const auto a = random_vector(static_cast<size_t>(n), rng);
    const auto b = random_vector(static_cast<size_t>(n), rng);
    double expect = 0, magnitude = 0;
    for (int i = 0; i < n; ++i) {
      expect += static_cast<double>(a[static_cast<size_t>(i)]) * b[static_cast<size_t>(i)];
      magnitude +=
          std::abs(static_cast<double>(a[static_cast<size_t>(i)]) * b[static_cast<size_t>(i)]);
    }
    EXPECT_NEAR(dot_f32(a.data(), b.data(), n), expect, 1e-6 * (magnitude + 1e-30)) << n;
  }
}

}  // namespace
}  // namespace xy::ref
