#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "engine/sampling/rng.h"

namespace xy {
namespace {

// Known-answer vectors of Random123's tests/kat_vectors (philox4x32 10 ...): counter, key, output.
TEST(Philox, MatchesRandom123KnownAnswers) {
  struct Kat {
    PhiloxCounter counter;
    PhiloxKey key;
    PhiloxCounter expected;
  };
  const Kat kats[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (const Kat& k : kats) EXPECT_EQ(philox4x32_10(k.counter, k.key), k.expected);
}

TEST(RequestRng, DrawIsAPureFunctionOfSeedAndPosition) {
  RequestRng a(12345), b(12345);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.next_u64(), b.next_u64());
  // Draw i is philox(counter = i, key = seed) words 0 and 1.
  RequestRng c(0x0123456789abcdefULL);
  c.set_position(7);
  const PhiloxCounter block = philox4x32_10({7, 0, 0, 0}, {0x89abcdef, 0x01234567});
  EXPECT_EQ(c.next_u64(), (uint64_t{block[1]} << 32) | block[0]);
  EXPECT_EQ(c.position(), 8u);
  // Replaying from a saved position repeats the stream.
  RequestRng d(99);
  for (int i = 0; i < 5; ++i) d.next_u64();
  const uint64_t saved = d.position();
  const uint64_t x = d.next_u64(), y = d.next_u64();
  d.set_position(saved);
  EXPECT_EQ(d.next_u64(), x);
  EXPECT_EQ(d.next_u64(), y);
}

TEST(RequestRng, DifferentSeedsGiveDifferentStreams) {
  std::set<uint64_t> firsts;
  for (uint64_t seed = 0; seed < 200; ++seed) firsts.insert(RequestRng(seed).next_u64());
  EXPECT_EQ(firsts.size(), 200u);
  RequestRng a(1), b(2);
  int equal = 0;
  for (int i = 0; i < 1000; ++i) equal += a.next_u64() == b.next_u64();
  EXPECT_EQ(equal, 0);
}

TEST(RequestRng, UnseededRequestsDrawDistinctSeeds) {
  std::set<uint64_t> seeds;
  for (int i = 0; i < 64; ++i) seeds.insert(RequestRng::create(std::nullopt).seed());
  EXPECT_GT(seeds.size(), 60u);
  EXPECT_EQ(RequestRng::create(42).seed(), 42u);
}

TEST(RequestRng, UniformsAreInRangeWithRightMoments) {
  RequestRng r(2024);
  const int n = 200000;
  double sum = 0, sum_sq = 0;
  int buckets[10] = {};
  for (int i = 0; i < n; ++i) {
    const double u = r.next_uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    sum_sq += u * u;
    ++buckets[static_cast<int>(u * 10)];
  }
  EXPECT_NEAR(sum / n, 0.5, 0.005);                 // sd of the mean ~ 0.00065
  EXPECT_NEAR(sum_sq / n - 0.25, 1.0 / 12, 0.005);  // variance 1/12
  double chi = 0;
  for (int b : buckets) chi += (b - n / 10.0) * (b - n / 10.0) / (n / 10.0);
  EXPECT_LT(chi, 27.88);  // chi-square(9) upper 0.1% point
}

}  // namespace
}  // namespace xy
