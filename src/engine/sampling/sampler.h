// Turns one request's row of logits into its next token (plus logprobs), or into the final
// distribution that token would be drawn from (for speculative verification).
//
// Processing order and semantics: logits_processors.h (vLLM v1's order). Logprobs are vLLM's
// default "raw_logprobs": log_softmax of the logits as the model produced them, before bias,
// penalties, temperature and truncation.
//
// Randomness: one RequestRng draw (53-bit uniform u) per sampled token, none for greedy. The
// token is the inverse CDF of the final distribution at u, walking surviving tokens in
// increasing id order; so the same seed gives the same tokens in any batch and on any machine.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"
#include "engine/sampling/logits_processors.h"
#include "engine/sampling/rng.h"
#include "engine/sampling/sampling_params.h"
#include "engine/sampling/token_history.h"

namespace xy {

struct TokenLogprob {
  int32_t token;
  float logprob;  // natural log, raw logits' log_softmax
};

struct SampleOutput {
  int32_t token = -1;
  // Filled when params.return_sampled_logprob: the token's raw logprob and its 1-based rank,
  // the number of tokens whose raw logit is >= its own (vLLM's definition; ties rank it lower).
  float logprob = 0.0f;
  int64_t rank = 0;
  // params.logprobs entries: the most likely tokens by raw logit, best first, ties by lower id.
  std::vector<TokenLogprob> top_logprobs;
};

// Holds scratch buffers sized to the vocabulary, so steady-state sampling allocates nothing.
// Not thread-safe: use one Sampler per sampling thread. Parameters must have passed
// SamplingParams::validate(). Errors (as values): an empty row, a NaN or +inf logit, a row with
// no finite logit after processing, a logit_bias / allowed / history token outside the row.
class Sampler {
 public:
  // logits: [vocab] raw f32 logits of one request, not modified. history: the request's prompt
  // and output tokens for the penalties. rng: advanced by one draw unless greedy.
  // allowed_mask (structured output): ceil(vocab / 32) words, bit i clear = token i masked out
  // before every other step; empty = no mask. Logprobs stay the raw logits'.
  Result<SampleOutput> sample(std::span<const float> logits, const SamplingParams& params,
                              const TokenHistory& history, RequestRng& rng,
                              std::span<const uint32_t> allowed_mask = {});

  // The distribution sample() draws from: out [vocab] = final probabilities (sum 1, zeros for
  // dropped tokens); one-hot on the argmax for greedy params. Consumes no randomness.
  Status probs(std::span<const float> logits, const SamplingParams& params,
               const TokenHistory& history, std::span<float> out);

  // The target distributions p_1..p_{k+1} that verify_draft() (rejection_sampler.h) needs, for a
  // verify segment: logits [k + 1, vocab] row-major, row i predicting the token after draft i
  // (row 0: after the last accepted token). Row i is processed with `history` extended by the
  // drafts d_1..d_i, exactly as if those tokens had been generated one by one; `history` is
  // extended temporarily and restored before returning, also on error. out: [k + 1, vocab].
  Status verify_probs(std::span<const float> logits, std::span<const int32_t> drafts,
                      const SamplingParams& params, TokenHistory& history, std::span<float> out);

 private:
  // Runs processors and truncation; leaves the result in exactly one of the representations below.
  Status prepare(std::span<const float> logits, const SamplingParams& params,
                 const TokenHistory& history, std::span<const uint32_t> allowed_mask = {});
  int32_t draw(double u);

  enum class Form { kGreedy, kSparse, kDense };
  Form form_ = Form::kGreedy;
  int32_t greedy_token_ = -1;
  // kSparse: survivors sorted by token id, weights exp(s); total = their sum.
  std::vector<sampling::ScoredToken> survivors_;
  // kDense: weights_ [vocab] = exp(s) of survivors, 0 elsewhere.
  std::vector<float> processed_;    // [vocab] penalized logits, then scores s = (x - max) / T
  std::vector<float> weights_;      // [vocab]
  std::vector<double> block_sums_;  // [ceil(vocab / kBlock)] sums of weights_ per block
  double total_ = 0.0;
  float raw_max_ = 0.0f;  // max of the raw logits, for the logprobs' normalizer
  // Reused by the processors.
  std::vector<float> float_scratch_;
  std::vector<int32_t> index_scratch_;
  std::vector<sampling::ScoredToken> scored_scratch_;
};

}  // namespace xy
