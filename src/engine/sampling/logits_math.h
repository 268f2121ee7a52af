// Vocabulary-wide passes over one row of logits ([vocab] f32, contiguous), written with explicit
// vector extensions (no -ffast-math needed): reductions keep per-lane accumulators, so the
// summation order is fixed by the code and results are bitwise reproducible (logits_math.cpp).
// Thread-safe: pure functions of their arguments.
#pragma once

#include <bit>
#include <cstdint>
#include <span>
#include <vector>

namespace xy::sampling {

// exp(x) for float, ~1-2 ulp over the normal range, 0 below -87.3 (where expf would be
// subnormal). Branch-free plain arithmetic (Cephes polynomial): it vectorizes, and unlike libm's
// expf it gives the same bits everywhere, as long as the compiler does not contract a * b + c
// into FMA (x86-64 baseline and AVX2 without FMA, as built here, never do).
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

// Index of the first NaN or +inf entry, or -1 when every entry is finite or -inf. Scalar: meant
// for the error path, after max_value() reported an invalid row.
int64_t first_invalid_logit(std::span<const float> x);

// Largest entry (-inf for an all -inf or empty row). NaN entries are ignored; when `invalid` is
// given it is set to whether x holds a NaN or +inf (checking costs nothing extra in this pass).
float max_value(std::span<const float> x, bool* invalid = nullptr);

// Lowest index i with x[i] == value, or -1.
int64_t first_index_of(std::span<const float> x, float value);

// Index of the largest entry, the lowest index among equal maxima. x non-empty, NaN-free.
int32_t argmax(std::span<const float> x);

constexpr size_t kSumBlock = 64;

// One pass producing the temperature-scaled scores and their softmax weights:
//   s_i = (x_i - shift) * scale,  weights_i = s_i >= keep_from ? exp(s_i) : 0
// scores: [vocab] or empty (not stored); scores may alias x. weights: [vocab].
// block_sums: [ceil(vocab / kSumBlock)], the weight sum of each block (see block_sums()).
// Returns the sum of all weights.
double exp_scores(std::span<const float> x, float shift, float scale, float keep_from,
                  std::span<float> scores, std::span<float> weights, std::span<double> block_sums);

// sum_i exp(x[i] - shift) without storing the terms (the normalizer of a log_softmax).
double sum_exp(std::span<const float> x, float shift);

// Number of entries >= value (a token's rank among the logits, counting ties against it).
int64_t count_at_least(std::span<const float> x, float value);

// weights[i] = 0 where scores[i] < cutoff. [vocab] each.
void zero_below(std::span<const float> scores, float cutoff, std::span<float> weights);

// sums[b] = sum of weights[b * kSumBlock, (b + 1) * kSumBlock) (the last block may be short);
// sums.size() == ceil(weights.size() / kSumBlock). Returns the sum of all blocks. Lets an
// inverse-CDF walk skip whole blocks.
double block_sums(std::span<const float> weights, std::span<double> sums);

// mass[min(bits(w) >> shift, mass.size() - 1)] += w for the weights of every 16-entry block that
// holds a weight >= skip_below (whole blocks below it are skipped; weights are >= 0, so their
// float bits order like their values). Accumulates into `mass`.
void histogram_by_bits(std::span<const float> weights, float skip_below, int shift,
                       std::span<double> mass);

// out = the indices i with lo <= weights[i] < hi, increasing.
void indices_in_range(std::span<const float> weights, float lo, float hi,
                      std::vector<int32_t>& out);

// Selection loops skip blocks with these: the first i = from + 16 j such that some x[i, i + 16)
// is >= (resp. >) threshold, or else the first i = from + 16 j with fewer than 16 entries left
// (the caller handles that tail entry by entry).
size_t next_block_at_least(std::span<const float> x, size_t from, float threshold);
size_t next_block_greater(std::span<const float> x, size_t from, float threshold);

}  // namespace xy::sampling
