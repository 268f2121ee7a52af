#include "engine/sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/check.h"
#include "engine/sampling/logits_math.h"
#include "engine/sampling/top_selection.h"

namespace xy {
namespace {

using sampling::ScoredToken;

constexpr float kInf = std::numeric_limits<float>::infinity();
// Weights per block of the dense inverse-CDF walk: one pass computes block sums, then the walk
// touches ~vocab/64 sums and a single block.
constexpr size_t kBlock = sampling::kSumBlock;
// top_k up to this uses the sparse path (only the survivors are scored and sorted).
constexpr int kSparseTopKLimit = 2048;

bool penalties_active(const SamplingParams& p, const TokenHistory& h) {
  return !h.entries().empty() && (p.repetition_penalty != 1.0f || p.frequency_penalty != 0.0f ||
                                  p.presence_penalty != 0.0f);
}

}  // namespace

Status Sampler::prepare(std::span<const float> logits, const SamplingParams& params,
                        const TokenHistory& history, std::span<const uint32_t> allowed_mask) {
  if (logits.empty()) return invalid_argument("sampler: empty logits row (vocabulary size 0)");
  bool invalid = false;
  raw_max_ = sampling::max_value(logits, &invalid);
  if (invalid) {
    const int64_t bad = sampling::first_invalid_logit(logits);
    return invalid_argument("sampler: logit of token " + std::to_string(bad) + " is " +
                            (std::isnan(logits[bad]) ? "NaN" : "+inf"));
  }
  const size_t vocab = logits.size();
  const bool penalize = penalties_active(params, history);
  const bool masked = !allowed_mask.empty();
  const bool modify =
      masked || !params.allowed_token_ids.empty() || !params.logit_bias.empty() || penalize;
  std::span<const float> x = logits;  // [vocab] logits after steps 1-2
  float max_logit = raw_max_;
  if (!params.allowed_token_ids.empty() || !params.logit_bias.empty()) {
    // Cheap next to the row, and an unchecked id would be an out-of-bounds write.
    XY_RETURN_IF_ERROR(params.validate_token_ids(static_cast<int>(vocab)));
  }
  if (modify) {
    processed_.assign(logits.begin(), logits.end());
    std::span<float> y(processed_);
    if (masked) {
      if (allowed_mask.size() * 32 < vocab) {
        return invalid_argument("sampler: token mask of " + std::to_string(allowed_mask.size()) +
                                " words for a vocabulary of " + std::to_string(vocab));
      }
      sampling::apply_token_bitmask(y, allowed_mask);
    }
    if (!params.allowed_token_ids.empty())
      sampling::apply_allowed_tokens(y, params.allowed_token_ids, float_scratch_);
    if (!params.logit_bias.empty()) sampling::apply_logit_bias(y, params.logit_bias);
    if (penalize) {
      XY_RETURN_IF_ERROR(sampling::apply_penalties(y, history, params.repetition_penalty,
                                                   params.frequency_penalty,
                                                   params.presence_penalty));
    }
    x = y;
    max_logit = sampling::max_value(x);
  }
  if (max_logit == -kInf) {
    if (masked) {
      return invalid_argument(
          "sampler: the output constraint leaves no token with a finite logit (the grammar "
          "allows only tokens that other parameters masked out)");
    }
    return invalid_argument("sampler: every token's logit is -inf, nothing can be sampled");
  }
  if (!(max_logit < kInf)) {
    return invalid_argument(
        "sampler: a logit overflowed to +inf after the penalties (repetition_penalty " +
        std::to_string(params.repetition_penalty) + " too small for these logits)");
  }
  if (params.is_greedy()) {
    form_ = Form::kGreedy;
    greedy_token_ = static_cast<int32_t>(sampling::first_index_of(x, max_logit));
    return Status::ok();
  }

  const float inv_temperature = 1.0f / params.temperature;
  // min_p keeps p_i >= min_p * p_max, i.e. s_i = log(p_i / p_max) >= log(min_p).
  const float min_p_score = params.min_p > 0.0f ? std::log(params.min_p) : -kInf;
  const bool top_k = params.top_k_enabled(static_cast<int>(vocab));
  const bool top_p = params.top_p < 1.0f;

  if (top_k && params.top_k <= kSparseTopKLimit) {
    sampling::top_k_with_ties(x, params.top_k, float_scratch_, index_scratch_);
    survivors_.clear();
    for (int32_t i : index_scratch_) {
      if (x[i] == -kInf) continue;
      const float score = (x[i] - max_logit) * inv_temperature;
      if (score >= min_p_score) survivors_.push_back({score, sampling::fast_exp(score), i});
    }
    XY_CHECK(!survivors_.empty());  // the maximum always survives
    if (top_p) {
      double total = 0.0;
      for (const ScoredToken& t : survivors_) total += t.weight;
      std::vector<ScoredToken>& sorted = scored_scratch_;
      sorted = survivors_;
      sampling::sort_by_score(sorted);
      const float cutoff = sampling::top_p_cutoff_sorted(sorted, total, params.top_p);
      std::erase_if(survivors_, [cutoff](const ScoredToken& t) { return t.score < cutoff; });
    }
    total_ = 0.0;
    for (const ScoredToken& t : survivors_) total_ += t.weight;
    form_ = Form::kSparse;
    return Status::ok();
  }

  // Dense path: weights over the whole vocabulary (and scores, which top-p needs).
  float keep_from = min_p_score;
  if (top_k) {
    const float kth = sampling::kth_largest(x, params.top_k, float_scratch_);
    keep_from = std::max(keep_from, (kth - max_logit) * inv_temperature);
  }
  processed_.resize(vocab);  // scores overwrite the penalized logits in place
  weights_.resize(vocab);
  block_sums_.resize((vocab + kBlock - 1) / kBlock);
  const std::span<float> scores = top_p ? std::span<float>(processed_) : std::span<float>();
  total_ =
      sampling::exp_scores(x, max_logit, inv_temperature, keep_from, scores, weights_, block_sums_);
  if (top_p) {
    const float cutoff = sampling::top_p_cutoff_dense(scores, weights_, total_, params.top_p,
                                                      scored_scratch_, index_scratch_);
    if (cutoff > keep_from) {
      sampling::zero_below(scores, cutoff, weights_);
      total_ = sampling::block_sums(weights_, block_sums_);
    }
  }
  form_ = Form::kDense;
  return Status::ok();
}

int32_t Sampler::draw(double u) {
  const double target = u * total_;
  double cumulative = 0.0;
  if (form_ == Form::kSparse) {
    for (const ScoredToken& t : survivors_) {
      cumulative += t.weight;
      if (cumulative > target) return t.token;
    }
    return survivors_.back().token;  // u * total rounded up to the very end
  }
  int32_t last_positive = -1;
  for (size_t b = 0; b < block_sums_.size(); ++b) {
    if (block_sums_[b] == 0.0) continue;
    if (cumulative + block_sums_[b] <= target) {
      cumulative += block_sums_[b];
      continue;
    }
    const size_t begin = b * kBlock;
    const size_t end = std::min(weights_.size(), begin + kBlock);
    for (size_t i = begin; i < end; ++i) {
      if (weights_[i] == 0.0f) continue;
      cumulative += weights_[i];
      last_positive = static_cast<int32_t>(i);
      if (cumulative > target) return last_positive;
    }
    // The block sum (lane order) and this walk (index order) rounded differently; the target
    // lies within rounding of the block's end, so its last positive token is the right pick.
    return last_positive;
  }
  // u * total_ rounded up to the very end: the last token with a positive weight.
  for (size_t i = weights_.size(); i-- > 0;) {
    if (weights_[i] > 0.0f) return static_cast<int32_t>(i);
  }
  XY_CHECK_MSG(false, "dense distribution without a positive weight");
}

Result<SampleOutput> Sampler::sample(std::span<const float> logits, const SamplingParams& params,
                                     const TokenHistory& history, RequestRng& rng,
                                     std::span<const uint32_t> allowed_mask) {
  XY_RETURN_IF_ERROR(prepare(logits, params, history, allowed_mask));
  SampleOutput out;
  out.token = form_ == Form::kGreedy ? greedy_token_ : draw(rng.next_uniform());
  if (params.logprobs > 0 || params.return_sampled_logprob) {
    const double log_normalizer = raw_max_ + std::log(sampling::sum_exp(logits, raw_max_));
    const int n = std::min<int>(params.logprobs, static_cast<int>(logits.size()));
    sampling::top_n_indices(logits, n, index_scratch_);
    out.top_logprobs.reserve(n);
    for (int32_t token : index_scratch_) {
      out.top_logprobs.push_back({token, static_cast<float>(logits[token] - log_normalizer)});
    }
    if (params.return_sampled_logprob) {
      out.logprob = static_cast<float>(logits[out.token] - log_normalizer);
      out.rank = sampling::count_at_least(logits, logits[out.token]);
    }
  }
  return out;
}

Status Sampler::probs(std::span<const float> logits, const SamplingParams& params,
                      const TokenHistory& history, std::span<float> out) {
  XY_CHECK(out.size() == logits.size());
  XY_RETURN_IF_ERROR(prepare(logits, params, history));
  switch (form_) {
    case Form::kGreedy:
      std::fill(out.begin(), out.end(), 0.0f);
      out[greedy_token_] = 1.0f;
      break;
    case Form::kSparse:
      std::fill(out.begin(), out.end(), 0.0f);
      for (const ScoredToken& t : survivors_) out[t.token] = static_cast<float>(t.weight / total_);
      break;
    case Form::kDense: {
      const double inv_total = 1.0 / total_;
      for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(weights_[i] * inv_total);
      break;
    }
  }
  return Status::ok();
}

Status Sampler::verify_probs(std::span<const float> logits, std::span<const int32_t> drafts,
                             const SamplingParams& params, TokenHistory& history,
                             std::span<float> out) {
  const size_t rows = drafts.size() + 1;
  if (logits.empty() || logits.size() % rows != 0) {
    return invalid_argument("sampler: verify logits hold " + std::to_string(logits.size()) +
                            " values, not a multiple of k + 1 = " + std::to_string(rows) + " rows");
  }
  const size_t vocab = logits.size() / rows;
  XY_CHECK(out.size() == logits.size());
  for (size_t i = 0; i < drafts.size(); ++i) {
    if (drafts[i] < 0 || static_cast<size_t>(drafts[i]) >= vocab) {
      return invalid_argument("sampler: draft token " + std::to_string(i + 1) + " = " +
                              std::to_string(drafts[i]) + " is outside the vocabulary [0, " +
                              std::to_string(vocab) + ")");
    }
  }
  Status status;
  size_t pushed = 0;
  for (size_t row = 0; row < rows && status.is_ok(); ++row) {
    if (row > 0) {
      history.add_output(drafts[row - 1]);
      ++pushed;
    }
    status =
        probs(logits.subspan(row * vocab, vocab), params, history, out.subspan(row * vocab, vocab));
  }
  while (pushed > 0) history.remove_output(drafts[--pushed]);
  return status;
}

}  // namespace xy
