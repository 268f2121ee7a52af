#include "engine/sampling/logits_math.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

// The passes use GCC/Clang vector extensions: 16 lanes as two 8-float vectors, i.e. one AVX2
// register each, or two SSE registers each on the baseline target. Every public pass is
// compiled twice (target_clones: AVX2 and baseline x86-64) and picked at load time. Both clones
// execute the same IEEE operations in the same lane order (no FMA), so results are bitwise equal
// on every x86-64 machine, and equal to the scalar tails and to fast_exp().
// XY_SAMPLING_NO_CLONES builds only the baseline version (to test that it matches bit for bit).
#if defined(XY_SAMPLING_NO_CLONES)
#define XY_SAMPLING_CLONES
#elif defined(__x86_64__) && (!defined(__clang__) || __clang_major__ >= 14)
#define XY_SAMPLING_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define XY_SAMPLING_CLONES
#endif

namespace xy::sampling {
namespace {

// Vectors never cross a function boundary by value (the helpers take references, the rest are
// macros): passing 32-byte vectors by value from the baseline clone is an ABI change that GCC
// warns about and Clang rejects.
typedef float f32x8 __attribute__((vector_size(32)));
typedef float f32x8_unaligned __attribute__((vector_size(32), aligned(4)));
typedef int32_t i32x8 __attribute__((vector_size(32)));

constexpr size_t kLanes = 16;  // two f32x8 per step
constexpr float kInf = std::numeric_limits<float>::infinity();

#define XY_LOAD(p) ((f32x8)(*reinterpret_cast<const f32x8_unaligned*>(p)))
#define XY_SPLAT(x) (f32x8{} + (x))
// Lanes of a where mask is set (all ones), else lanes of b.
#define XY_SELECT(mask, a, b) ((f32x8)(((i32x8)(a) & (mask)) | ((i32x8)(b) & ~(mask))))

inline __attribute__((always_inline)) void store(float* p, const f32x8& v) {
  *reinterpret_cast<f32x8_unaligned*>(p) = v;
}

inline __attribute__((always_inline)) bool any(const i32x8& mask) {
  int32_t r = 0;
  for (int l = 0; l < 8; ++l) r |= mask[l];
  return r != 0;
}

// fast_exp() on 8 lanes, operation for operation (so the bits match the scalar version).
inline __attribute__((always_inline)) void exp8(const f32x8& x, f32x8& out) {
  const f32x8 lo = XY_SPLAT(-87.3f), hi = XY_SPLAT(88.7f);
  const i32x8 below = x < lo;
  const f32x8 upper_clamped = XY_SELECT(x > hi, hi, x);
  const f32x8 clamped = XY_SELECT(below, lo, upper_clamped);
  const f32x8 magic = XY_SPLAT(12582912.0f);
  const f32x8 n = (clamped * 1.44269504088896341f + magic) - magic;
  f32x8 r = clamped - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  f32x8 p = XY_SPLAT(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const f32x8 scale = (f32x8)((__builtin_convertvector(n, i32x8) + 127) << 23);
  const f32x8 value = p * scale;
  out = XY_SELECT(below, f32x8{}, value);
}

}  // namespace

XY_SAMPLING_CLONES
float max_value(std::span<const float> x, bool* invalid) {
  const size_t n = x.size();
  const f32x8 inf = XY_SPLAT(kInf);
  f32x8 a = XY_SPLAT(-kInf), b = XY_SPLAT(-kInf);
  i32x8 bad{};
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const f32x8 u = XY_LOAD(&x[i]), v = XY_LOAD(&x[i + 8]);
    a = XY_SELECT(a < u, u, a);
    b = XY_SELECT(b < v, v, b);
    bad |= ~(u < inf) | ~(v < inf);  // NaN and +inf are exactly the values failing "< +inf"
  }
  float best = -kInf;
  for (int l = 0; l < 8; ++l) {
    best = best < a[l] ? a[l] : best;
    best = best < b[l] ? b[l] : best;
  }
  bool any_bad = any(bad);
  for (; i < n; ++i) {
    best = best < x[i] ? x[i] : best;
    any_bad |= !(x[i] < kInf);
  }
  if (invalid) *invalid = any_bad;
  return best;
}

XY_SAMPLING_CLONES
int64_t first_index_of(std::span<const float> x, float value) {
  const f32x8 target = XY_SPLAT(value);
  const size_t n = x.size();
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    if (any((XY_LOAD(&x[i]) == target) | (XY_LOAD(&x[i + 8]) == target))) break;
  }
  for (; i < n; ++i) {
    if (x[i] == value) return static_cast<int64_t>(i);
  }
  return -1;
}

int32_t argmax(std::span<const float> x) {
  // Two vectorized passes (the max, then its first occurrence) beat one branchy index-tracking
  // pass.
  return static_cast<int32_t>(std::max<int64_t>(0, first_index_of(x, max_value(x))));
}

// sum_exp flushes its float lanes into the double total every kFlushEvery entries, so each lane
// sums at most 64 terms of <= 1 before rounding into double.
constexpr size_t kFlushEvery = kLanes * 64;

XY_SAMPLING_CLONES
double exp_scores(std::span<const float> x, float shift, float scale, float keep_from,
                  std::span<float> scores, std::span<float> weights, std::span<double> block_sums) {
  const size_t n = x.size();
  const bool store_scores = !scores.empty();
  const f32x8 vshift = XY_SPLAT(shift), vscale = XY_SPLAT(scale), vkeep = XY_SPLAT(keep_from);
  double total = 0.0;
  for (size_t block = 0; block < block_sums.size(); ++block) {
    const size_t begin = block * kSumBlock;
    const size_t end = std::min(n, begin + kSumBlock);
    double sum = 0.0;
    size_t i = begin;
    if (end - begin == kSumBlock) {
      f32x8 acc_a{}, acc_b{};
      for (; i < end; i += kLanes) {
        const f32x8 su = (XY_LOAD(&x[i]) - vshift) * vscale;
        const f32x8 sv = (XY_LOAD(&x[i + 8]) - vshift) * vscale;
        f32x8 eu, ev;
        exp8(su, eu);
        exp8(sv, ev);
        eu = XY_SELECT(su >= vkeep, eu, f32x8{});
        ev = XY_SELECT(sv >= vkeep, ev, f32x8{});
        if (store_scores) {
          store(&scores[i], su);
          store(&scores[i + 8], sv);
        }
        store(&weights[i], eu);
        store(&weights[i + 8], ev);
        acc_a += eu;
        acc_b += ev;
      }
      for (int l = 0; l < 8; ++l) sum += acc_a[l];
      for (int l = 0; l < 8; ++l) sum += acc_b[l];
    }
    for (; i < end; ++i) {
      const float s = (x[i] - shift) * scale;
      const float e = s >= keep_from ? fast_exp(s) : 0.0f;
      if (store_scores) scores[i] = s;
      weights[i] = e;
      sum += e;
    }
    block_sums[block] = sum;
    total += sum;
  }
  return total;
}

XY_SAMPLING_CLONES
double sum_exp(std::span<const float> x, float shift) {
  const size_t n = x.size();
  const f32x8 vshift = XY_SPLAT(shift);
  double total = 0.0;
  size_t i = 0;
  while (i + kLanes <= n) {
    const size_t end = std::min(n - (n - i) % kLanes, i + kFlushEvery);
    f32x8 acc_a{}, acc_b{};
    for (; i < end; i += kLanes) {
      f32x8 ea, eb;
      exp8(XY_LOAD(&x[i]) - vshift, ea);
      exp8(XY_LOAD(&x[i + 8]) - vshift, eb);
      acc_a += ea;
      acc_b += eb;
    }
    for (int l = 0; l < 8; ++l) total += acc_a[l];
    for (int l = 0; l < 8; ++l) total += acc_b[l];
  }
  for (; i < n; ++i) total += fast_exp(x[i] - shift);
  return total;
}

XY_SAMPLING_CLONES
int64_t count_at_least(std::span<const float> x, float value) {
  const size_t n = x.size();
  const f32x8 v = XY_SPLAT(value);
  i32x8 acc{};  // comparisons give -1 per true lane
  int64_t total = 0;
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    acc += XY_LOAD(&x[i]) >= v;
    acc += XY_LOAD(&x[i + 8]) >= v;
  }
  for (int l = 0; l < 8; ++l) total -= acc[l];
  for (; i < n; ++i) total += x[i] >= value;
  return total;
}

XY_SAMPLING_CLONES
void zero_below(std::span<const float> scores, float cutoff, std::span<float> weights) {
  const size_t n = scores.size();
  const f32x8 vcut = XY_SPLAT(cutoff);
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    store(&weights[i], XY_SELECT(XY_LOAD(&scores[i]) >= vcut, XY_LOAD(&weights[i]), f32x8{}));
  for (; i < n; ++i) weights[i] = scores[i] >= cutoff ? weights[i] : 0.0f;
}

XY_SAMPLING_CLONES
double block_sums(std::span<const float> weights, std::span<double> sums) {
  const size_t n = weights.size();
  double total = 0.0;
  for (size_t b = 0; b < sums.size(); ++b) {
    const size_t begin = b * kSumBlock;
    const size_t end = std::min(n, begin + kSumBlock);
    double sum = 0.0;
    size_t i = begin;
    if (end - begin == kSumBlock) {
      f32x8 acc_a{}, acc_b{};
      for (; i < end; i += kLanes) {
        acc_a += XY_LOAD(&weights[i]);
        acc_b += XY_LOAD(&weights[i + 8]);
      }
      for (int l = 0; l < 8; ++l) sum += acc_a[l];
      for (int l = 0; l < 8; ++l) sum += acc_b[l];
    }
    for (; i < end; ++i) sum += weights[i];
    sums[b] = sum;
    total += sum;
  }
  return total;
}

XY_SAMPLING_CLONES
size_t next_block_at_least(std::span<const float> x, size_t from, float threshold) {
  const f32x8 t = XY_SPLAT(threshold);
  size_t i = from;
  for (; i + kLanes <= x.size(); i += kLanes) {
    if (any((XY_LOAD(&x[i]) >= t) | (XY_LOAD(&x[i + 8]) >= t))) break;
  }
  return i;
}

XY_SAMPLING_CLONES
size_t next_block_greater(std::span<const float> x, size_t from, float threshold) {
  const f32x8 t = XY_SPLAT(threshold);
  size_t i = from;
  for (; i + kLanes <= x.size(); i += kLanes) {
    if (any((XY_LOAD(&x[i]) > t) | (XY_LOAD(&x[i + 8]) > t))) break;
  }
  return i;
}

XY_SAMPLING_CLONES
void histogram_by_bits(std::span<const float> weights, float skip_below, int shift,
                       std::span<double> mass) {
  const size_t n = weights.size();
  const uint32_t last = static_cast<uint32_t>(mass.size() - 1);
  const f32x8 t = XY_SPLAT(skip_below);
  auto add = [&](size_t i) {
    mass[std::min(std::bit_cast<uint32_t>(weights[i]) >> shift, last)] += weights[i];
  };
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    if (!any((XY_LOAD(&weights[i]) >= t) | (XY_LOAD(&weights[i + 8]) >= t))) continue;
    // Branch-free within the block: a data-dependent branch mispredicts on flat distributions.
    for (size_t l = 0; l < kLanes; ++l) add(i + l);
  }
  for (; i < n; ++i) add(i);
}

XY_SAMPLING_CLONES
void indices_in_range(std::span<const float> weights, float lo, float hi,
                      std::vector<int32_t>& out) {
  out.clear();
  const size_t n = weights.size();
  const f32x8 vlo = XY_SPLAT(lo), vhi = XY_SPLAT(hi);
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const f32x8 a = XY_LOAD(&weights[i]), b = XY_LOAD(&weights[i + 8]);
    if (!any(((a >= vlo) & (a < vhi)) | ((b >= vlo) & (b < vhi)))) continue;
    for (size_t l = 0; l < kLanes; ++l) {
      if (weights[i + l] >= lo && weights[i + l] < hi) out.push_back(static_cast<int32_t>(i + l));
    }
  }
  for (; i < n; ++i) {
    if (weights[i] >= lo && weights[i] < hi) out.push_back(static_cast<int32_t>(i));
  }
}

int64_t first_invalid_logit(std::span<const float> x) {
  // Only called on the error path, after max_value() flagged the row.
  for (size_t i = 0; i < x.size(); ++i) {
    if (!(x[i] < kInf)) return static_cast<int64_t>(i);
  }
  return -1;
}

}  // namespace xy::sampling
