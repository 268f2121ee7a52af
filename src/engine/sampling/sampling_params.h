// Per-request sampling parameters (OpenAI / vLLM semantics) and their validation.
//
// A plain value type: the server fills it from a request (JSON stays at the edge), the engine
// copies it into the request, the sampler only reads it. validate() is the single place that
// decides what is a legal request; the sampler assumes validated parameters.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "core/status.h"

namespace xy {

struct SamplingParams {
  // 0 = greedy (argmax, lowest id on ties). Values below kGreedyTemperatureEpsilon are treated as
  // greedy too, as vLLM does, because dividing logits by ~0 only amplifies rounding noise.
  float temperature = 1.0f;
  float top_p = 1.0f;  // (0, 1]; 1 = off
  int top_k = 0;       // 0 or -1 = off, else >= 1 (values >= vocab are off as well)
  float min_p = 0.0f;  // [0, 1]; 0 = off
  // Over prompt + output tokens: positive logits are divided by it, negative multiplied (HF/vLLM).
  float repetition_penalty = 1.0f;  // > 0; 1 = off
  // Over output tokens only (OpenAI): logit -= frequency * count, logit -= presence * (count > 0).
  float presence_penalty = 0.0f;   // [-2, 2]
  float frequency_penalty = 0.0f;  // [-2, 2]
  // Added to the raw logit of the token, before penalties. Ordered so application is deterministic.
  std::map<int32_t, float> logit_bias;  // token -> bias in [-100, 100]
  // When non-empty, every other token is masked out (vLLM allowed_token_ids).
  std::vector<int32_t> allowed_token_ids;
  // Same seed -> same tokens on every machine and in every batch. Unset: a random seed is drawn
  // when the request's generator is created (RequestRng::create).
  std::optional<uint64_t> seed;
  // Number of most likely tokens to report per step with their logprobs: 0..kMaxLogprobs.
  int logprobs = 0;
  // Also report the sampled token's own logprob and rank.
  bool return_sampled_logprob = false;

  static constexpr int kMaxLogprobs = 20;
  static constexpr float kGreedyTemperatureEpsilon = 1e-5f;

  bool is_greedy() const { return temperature < kGreedyTemperatureEpsilon; }
  bool top_k_enabled(int vocab_size) const { return top_k > 0 && top_k < vocab_size; }

  // Range checks of every field; the message names the field and the offending value.
  Status validate() const;
  // Token ids inside logit_bias / allowed_token_ids must lie in [0, vocab_size). The caller runs
  // this once per request when it knows the model's vocabulary.
  Status validate_token_ids(int vocab_size) const;
};

}  // namespace xy
