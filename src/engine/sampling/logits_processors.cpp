#include "engine/sampling/logits_processors.h"

#include <algorithm>
#include <array>
#include <bit>
#include <limits>
#include <string>

#include "core/check.h"
#include "engine/sampling/logits_math.h"

namespace xy::sampling {

void apply_allowed_tokens(std::span<float> logits, std::span<const int32_t> allowed,
                          std::vector<float>& scratch) {
  scratch.resize(allowed.size());
  for (size_t i = 0; i < allowed.size(); ++i) scratch[i] = logits[allowed[i]];
  std::fill(logits.begin(), logits.end(), -std::numeric_limits<float>::infinity());
  for (size_t i = 0; i < allowed.size(); ++i) logits[allowed[i]] = scratch[i];
}

void apply_token_bitmask(std::span<float> logits, std::span<const uint32_t> mask) {
  constexpr float kMasked = -std::numeric_limits<float>::infinity();
  for (size_t w = 0; w * 32 < logits.size(); ++w) {
    const uint32_t bits = mask[w];
    if (bits == 0xFFFFFFFFu) continue;
    const size_t end = std::min(logits.size(), w * 32 + 32);
    for (size_t t = w * 32; t < end; ++t) {
      if (!(bits >> (t - w * 32) & 1u)) logits[t] = kMasked;
    }
  }
}

void apply_logit_bias(std::span<float> logits, const std::map<int32_t, float>& bias) {
  for (const auto& [token, value] : bias) logits[token] += value;
}

Status apply_penalties(std::span<float> logits, const TokenHistory& history, float repetition,
                       float frequency, float presence) {
  for (const TokenHistory::Entry& e : history.entries()) {
    if (e.token < 0 || static_cast<size_t>(e.token) >= logits.size()) {
      return invalid_argument("sampler: token " + std::to_string(e.token) +
                              " in the request's prompt or output is outside the vocabulary [0, " +
                              std::to_string(logits.size()) + ")");
    }
    float& x = logits[e.token];
    if (e.in_prompt || e.output_count > 0) x = x > 0.0f ? x / repetition : x * repetition;
    x -= frequency * static_cast<float>(e.output_count);
    x -= presence * static_cast<float>(e.output_count > 0);
  }
  return Status::ok();
}

void sort_by_score(std::vector<ScoredToken>& tokens) {
  std::sort(tokens.begin(), tokens.end(), [](const ScoredToken& a, const ScoredToken& b) {
    return a.score > b.score || (a.score == b.score && a.token < b.token);
  });
}

namespace {

// Walks tied groups of `sorted` starting with `mass_before` already kept; returns the smallest
// kept score, or +inf when even the first group is not reached (mass_before >= target).
float walk_groups(std::span<const ScoredToken> sorted, double mass_before, double target) {
  float cutoff = std::numeric_limits<float>::infinity();
  size_t i = 0;
  while (i < sorted.size()) {
    if (mass_before >= target) break;
    const float score = sorted[i].score;
    for (; i < sorted.size() && sorted[i].score == score; ++i) mass_before += sorted[i].weight;
    cutoff = score;
  }
  return cutoff;
}

}  // namespace

float top_p_cutoff_sorted(std::span<const ScoredToken> sorted, double total, float top_p) {
  XY_CHECK(!sorted.empty());
  return walk_groups(sorted, 0.0, static_cast<double>(top_p) * total);
}

float top_p_cutoff_dense(std::span<const float> scores, std::span<const float> weights,
                         double total, float top_p, std::vector<ScoredToken>& scratch,
                         std::vector<int32_t>& indices) {
  XY_CHECK(scores.size() == weights.size());
  // Bin = top bits of the positive float weight: exponent and 4 mantissa bits, i.e. 16 bins per
  // octave of probability. Bits of positive floats are monotone in the value, so whole bins are
  // either kept or dropped and only the bin where the cumulative mass crosses needs sorting.
  constexpr int kShift = 19;
  constexpr uint32_t kNumBins = (std::bit_cast<uint32_t>(1.0f) >> kShift) + 1;
  // Weights below `floor` can never be kept: all of them together weigh at most
  // vocab * floor = (1 - top_p) * total / 2, less than the mass top-p drops, so the crossing
  // happens above them. Skipping blocks made only of them leaves the scalar histogram the few
  // blocks that matter in a peaked distribution. (Small weights inside a visited block land in
  // low bins, which the walk never reaches.)
  const size_t n = weights.size();
  const float floor =
      static_cast<float>(0.5 * (1.0 - static_cast<double>(top_p)) * total / static_cast<double>(n));
  std::array<double, kNumBins> mass{};
  histogram_by_bits(weights, floor, kShift, mass);
  const double target = static_cast<double>(top_p) * total;
  double above = 0.0;  // mass of all bins above the crossing bin
  uint32_t bin = kNumBins;
  bool crossed = false;
  while (bin > 0 && !crossed) {
    --bin;
    crossed = above + mass[bin] >= target;
    if (!crossed) above += mass[bin];
  }
  if (!crossed) return -std::numeric_limits<float>::infinity();  // rounding: keep everything
  // above < target and above + mass[bin] >= target, so the bin holds a positive weight and its
  // first tied group is kept: the walk below always yields a finite cutoff.
  // The bin's weights are [bits bin << kShift, bits (bin + 1) << kShift); the top bin also holds
  // anything above 1 (see histogram_by_bits).
  const float lo = std::bit_cast<float>(bin << kShift);
  const float hi = bin + 1 == kNumBins ? std::numeric_limits<float>::infinity()
                                       : std::bit_cast<float>((bin + 1) << kShift);
  indices_in_range(weights, lo, hi, indices);
  scratch.clear();
  for (int32_t i : indices) scratch.push_back({scores[i], weights[i], i});
  XY_CHECK(!scratch.empty());
  sort_by_score(scratch);
  return walk_groups(scratch, above, target);
}

}  // namespace xy::sampling
