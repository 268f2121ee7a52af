#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "core/dtype.h"

namespace xy {
namespace {

TEST(DType, Bf16RoundTripsExactlyRepresentableValues) {
  for (float f : {0.0f, -0.0f, 1.0f, -2.5f, 65536.0f, 1.0f / 1024}) {
    EXPECT_EQ(bf16_to_f32(f32_to_bf16(f)), f);
  }
}

TEST(DType, Bf16RoundsToNearestEven) {
  // 1 + 2^-8 is exactly halfway between bf16 1.0 and 1 + 2^-7: ties go to the even mantissa (1.0).
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.0f + 1.0f / 256)), 1.0f);
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.0f + 3.0f / 256)), 1.0f + 4.0f / 256);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(DType, F16MatchesIeeeOnRandomValues) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-70000.0f, 70000.0f);
  for (int i = 0; i < 100000; ++i) {
    const float f = dist(rng) * std::pow(2.0f, static_cast<float>(static_cast<int>(rng() % 40) - 30));
    const uint16_t h = f32_to_f16(f);
    const float back = f16_to_f32(h);
    if (std::fabs(f) >= 65520.0f) {
      EXPECT_TRUE(std::isinf(back)) << f;
      continue;
    }
    // Round-to-nearest: the error is at most half a unit in the last place of the f16 value.
    const float ulp = std::fabs(f) < 6.103515625e-05f
                          ? 5.960464477539063e-08f
                          : std::ldexp(1.0f, std::ilogb(std::fabs(back == 0 ? f : back)) - 10);
    EXPECT_LE(std::fabs(back - f), 0.5f * ulp * 1.0001f) << f;
    EXPECT_EQ(f32_to_f16(back), h) << f;  // idempotent
  }
}

TEST(DType, F16SpecialValues) {
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0x0001), 5.960464477539063e-08f);  // smallest subnormal
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
  EXPECT_TRUE(std::isinf(f16_to_f32(0x7c00)));
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(5.960464477539063e-08f), 0x0001);
}

}  // namespace
}  // namespace xy
