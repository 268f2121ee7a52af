// Independent double-precision references for the sampler tests: the vLLM v1 processing order
// written out naively over the whole vocabulary (full sorts, no thresholds, no bins), plus a
// chi-square helper. Shared by test_sampler.cpp and test_sampling_processors.cpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <vector>

#include "engine/sampling/sampling_params.h"

namespace xy::testing {

constexpr double kInfD = std::numeric_limits<double>::infinity();

struct RefHistory {
  std::vector<int32_t> prompt;
  std::vector<int32_t> output;
};

// Logits after allowed tokens, logit bias and penalties, in double.
inline std::vector<double> ref_processed_logits(const std::vector<float>& raw,
                                                const SamplingParams& p, const RefHistory& h) {
  const size_t v = raw.size();
  std::vector<double> x(raw.begin(), raw.end());
  if (!p.allowed_token_ids.empty()) {
    std::vector<bool> allowed(v, false);
    for (int32_t t : p.allowed_token_ids) allowed[t] = true;
    for (size_t i = 0; i < v; ++i)
      if (!allowed[i]) x[i] = -kInfD;
  }
  for (const auto& [t, b] : p.logit_bias) x[t] += b;
  std::vector<int> count(v, 0);
  std::vector<bool> seen(v, false);
  for (int32_t t : h.prompt) seen[t] = true;
  for (int32_t t : h.output) {
    seen[t] = true;
    ++count[t];
  }
  for (size_t i = 0; i < v; ++i) {
    if (seen[i]) x[i] = x[i] > 0 ? x[i] / p.repetition_penalty : x[i] * p.repetition_penalty;
    x[i] -= p.frequency_penalty * count[i];
    x[i] -= p.presence_penalty * (count[i] > 0 ? 1.0 : 0.0);
  }
  return x;
}

inline int32_t ref_argmax(const std::vector<double>& x) {
  int32_t best = 0;
  for (size_t i = 1; i < x.size(); ++i)
    if (x[i] > x[best]) best = static_cast<int32_t>(i);
  return best;
}

// The final distribution, per the documented order (temperature, min_p, top_k, top_p).
inline std::vector<double> ref_probs(const std::vector<float>& raw, const SamplingParams& p,
                                     const RefHistory& h) {
  const std::vector<double> x = ref_processed_logits(raw, p, h);
  const size_t v = x.size();
  std::vector<double> out(v, 0.0);
  if (p.is_greedy()) {
    out[ref_argmax(x)] = 1.0;
    return out;
  }
  const double m = *std::max_element(x.begin(), x.end());
  std::vector<double> s(v);
  std::vector<bool> keep(v);
  for (size_t i = 0; i < v; ++i) {
    s[i] = (x[i] - m) / p.temperature;
    keep[i] = x[i] > -kInfD;
  }
  if (p.min_p > 0) {
    for (size_t i = 0; i < v; ++i) keep[i] = keep[i] && std::exp(s[i]) >= p.min_p;  // p_i/p_max
  }
  if (p.top_k > 0 && static_cast<size_t>(p.top_k) < v) {
    std::vector<double> sorted = x;
    std::sort(sorted.begin(), sorted.end(), std::greater<double>());
    const double kth = sorted[p.top_k - 1];
    for (size_t i = 0; i < v; ++i) keep[i] = keep[i] && x[i] >= kth;
  }
  if (p.top_p < 1) {
    std::vector<int32_t> order;
    double z = 0;
    for (size_t i = 0; i < v; ++i) {
      if (keep[i]) {
        order.push_back(static_cast<int32_t>(i));
        z += std::exp(s[i]);
      }
    }
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return s[a] > s[b]; });
    double before = 0;  // mass of tokens strictly ahead (ties are one group)
    size_t i = 0;
    while (i < order.size()) {
      size_t j = i;
      double group = 0;
      for (; j < order.size() && s[order[j]] == s[order[i]]; ++j) group += std::exp(s[order[j]]);
      const bool kept = before < p.top_p * z;
      for (size_t t = i; t < j; ++t) keep[order[t]] = kept;
      before += group;
      i = j;
    }
  }
  double z = 0;
  for (size_t i = 0; i < v; ++i)
    if (keep[i]) z += std::exp(s[i]);
  for (size_t i = 0; i < v; ++i) out[i] = keep[i] ? std::exp(s[i]) / z : 0.0;
  return out;
}

inline std::vector<double> ref_log_softmax(const std::vector<float>& raw) {
  double m = -kInfD;
  for (float f : raw) m = std::max(m, static_cast<double>(f));
  double z = 0;
  for (float f : raw) z += std::exp(f - m);
  std::vector<double> out(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) out[i] = raw[i] - m - std::log(z);
  return out;
}

// Pearson chi-square of observed counts against expected probabilities. Cells with expected
// count < 5 are pooled into one cell (the usual validity rule). Returns {statistic, df}.
struct ChiSquare {
  double statistic;
  int df;
};
inline ChiSquare chi_square(const std::vector<int64_t>& counts, const std::vector<double>& probs) {
  int64_t n = std::accumulate(counts.begin(), counts.end(), int64_t{0});
  double stat = 0, pooled_expected = 0, pooled_observed = 0;
  int cells = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    const double e = probs[i] * static_cast<double>(n);
    if (e < 5) {
      pooled_expected += e;
      pooled_observed += static_cast<double>(counts[i]);
      continue;
    }
    stat += (counts[i] - e) * (counts[i] - e) / e;
    ++cells;
  }
  if (pooled_expected >= 5) {
    stat +=
        (pooled_observed - pooled_expected) * (pooled_observed - pooled_expected) / pooled_expected;
    ++cells;
  }
  return {stat, cells - 1};
}

// Upper 0.1% point of chi-square with df degrees of freedom (Wilson-Hilferty; within ~1% for
// df >= 3). A correct sampler fails a fixed-seed test at this threshold with probability 0.001.
inline double chi_square_critical_999(int df) {
  const double z = 3.090232;  // standard normal 0.999 quantile
  const double a = 2.0 / (9.0 * df);
  return df * std::pow(1 - a + z * std::sqrt(a), 3);
}

inline std::vector<float> random_logits(size_t v, std::mt19937_64& gen, double stddev = 2.0) {
  std::normal_distribution<double> normal(0.0, stddev);
  std::vector<float> out(v);
  for (float& f : out) f = static_cast<float>(normal(gen));
  return out;
}

}  // namespace xy::testing
