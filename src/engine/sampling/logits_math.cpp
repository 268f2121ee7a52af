#include "engine/sampling/logits_math.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace xy::sampling {
namespace {

// Lanes of the explicit accumulators: 16 floats = one AVX-512 register or two AVX2 ones.
constexpr size_t kLanes = 16;
constexpr float kInf = std::numeric_limits<float>::infinity();

}  // namespace

int64_t first_invalid_logit(std::span<const float> x) {
  const size_t n = x.size();
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    int bad = 0;
    for (size_t l = 0; l < kLanes; ++l) bad |= !(x[i + l] < kInf);  // NaN and +inf fail "< inf"
    if (bad) break;
  }
  for (; i < n; ++i) {
    if (!(x[i] < kInf)) return static_cast<int64_t>(i);
  }
  return -1;
}

float max_value(std::span<const float> x) {
  const size_t n = x.size();
  float acc[kLanes];
  for (size_t l = 0; l < kLanes; ++l) acc[l] = -kInf;
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) acc[l] = acc[l] < x[i + l] ? x[i + l] : acc[l];
  }
  float best = -kInf;
  for (size_t l = 0; l < kLanes; ++l) best = best < acc[l] ? acc[l] : best;
  for (; i < n; ++i) best = best < x[i] ? x[i] : best;
  return best;
}

int32_t argmax(std::span<const float> x) {
  // Two vectorized passes beat one branchy pass that tracks the index.
  const float best = max_value(x);
  const size_t n = x.size();
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    int hit = 0;
    for (size_t l = 0; l < kLanes; ++l) hit |= x[i + l] == best;
    if (hit) break;
  }
  for (; i < n; ++i) {
    if (x[i] == best) return static_cast<int32_t>(i);
  }
  return 0;  // unreachable for a non-empty NaN-free row
}

double exp_masked(std::span<const float> x, float shift, float scale, float keep_from,
                  std::span<float> out) {
  const size_t n = x.size();
  float acc[kLanes] = {};
  double total = 0.0;
  size_t i = 0;
  // Flush the float lanes into the double total every few blocks so the float partial sums stay
  // small relative to their terms (at most 64 terms of <= 1 each per lane).
  constexpr size_t kFlushEvery = kLanes * 64;
  while (i + kLanes <= n) {
    const size_t end = std::min(n - (n - i) % kLanes, i + kFlushEvery);
    for (; i < end; i += kLanes) {
      for (size_t l = 0; l < kLanes; ++l) {
        const float v = x[i + l];
        const float e = v >= keep_from ? fast_exp((v - shift) * scale) : 0.0f;
        out[i + l] = e;
        acc[l] += e;
      }
    }
    for (size_t l = 0; l < kLanes; ++l) {
      total += acc[l];
      acc[l] = 0.0f;
    }
  }
  for (; i < n; ++i) {
    const float e = x[i] >= keep_from ? fast_exp((x[i] - shift) * scale) : 0.0f;
    out[i] = e;
    total += e;
  }
  return total;
}

double sum_exp(std::span<const float> x, float shift) {
  const size_t n = x.size();
  float acc[kLanes] = {};
  double total = 0.0;
  size_t i = 0;
  constexpr size_t kFlushEvery = kLanes * 64;
  while (i + kLanes <= n) {
    const size_t end = std::min(n - (n - i) % kLanes, i + kFlushEvery);
    for (; i < end; i += kLanes) {
      for (size_t l = 0; l < kLanes; ++l) acc[l] += fast_exp(x[i + l] - shift);
    }
    for (size_t l = 0; l < kLanes; ++l) {
      total += acc[l];
      acc[l] = 0.0f;
    }
  }
  for (; i < n; ++i) total += fast_exp(x[i] - shift);
  return total;
}

int64_t count_at_least(std::span<const float> x, float value) {
  const size_t n = x.size();
  int32_t acc[kLanes] = {};
  int64_t total = 0;
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) acc[l] += x[i + l] >= value;
  }
  for (size_t l = 0; l < kLanes; ++l) total += acc[l];
  for (; i < n; ++i) total += x[i] >= value;
  return total;
}

void shift_scale(std::span<float> x, float shift, float scale) {
  for (float& v : x) v = (v - shift) * scale;
}

}  // namespace xy::sampling
