// Vocabulary-wide passes over one row of logits ([vocab] f32, contiguous), written so that GCC
// and Clang vectorize them without -ffast-math: reductions keep explicit per-lane accumulators,
// so the summation order is fixed by the code and results are bitwise reproducible.
#pragma once

#include <bit>
#include <cstdint>
#include <span>

namespace xy::sampling {

// exp(x) for float, ~1-2 ulp over the normal range, 0 below -87.3 (where expf would be
// subnormal). Branch-free plain arithmetic (Cephes polynomial), so a loop over it vectorizes and
// gives the same bits on every x86-64/ARM machine, unlike libm's expf.
inline float fast_exp(float x) {
  const float clamped = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
  // Round clamped*log2(e) to nearest with the 1.5*2^23 trick (valid while |n| < 2^22).
  const float n = (clamped * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  // r = x - n*ln2, with ln2 split in two so that n*ln2_hi is exact.
  float r = clamped - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const float scale = std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
  return x < -87.3f ? 0.0f : p * scale;
}

// Index of the first NaN or +inf entry, or -1 when every entry is finite or -inf.
int64_t first_invalid_logit(std::span<const float> x);

// Largest entry (-inf for an all -inf row). x must be non-empty and NaN-free.
float max_value(std::span<const float> x);

// Index of the largest entry, the lowest index among equal maxima. x non-empty, NaN-free.
int32_t argmax(std::span<const float> x);

// out[i] = x[i] >= keep_from ? exp((x[i] - shift) * scale) : 0; returns the sum of out.
// [vocab] in, [vocab] out; out may alias x.
double exp_masked(std::span<const float> x, float shift, float scale, float keep_from,
                  std::span<float> out);

// sum_i exp(x[i] - shift) without storing the terms (the normalizer of a log_softmax).
double sum_exp(std::span<const float> x, float shift);

// Number of entries >= value (a token's rank among the logits, counting ties against it).
int64_t count_at_least(std::span<const float> x, float value);

// x[i] = (x[i] - shift) * scale for all i.
void shift_scale(std::span<float> x, float shift, float scale);

}  // namespace xy::sampling
