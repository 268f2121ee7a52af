// The individual logits processors of the sampler, in the order Sampler applies them (vLLM v1,
// vllm/v1/sample/sampler.py):
//   1. allowed_token_ids, then logit_bias       (change greedy results; on raw logits)
//   2. penalties: repetition (prompt + output), frequency and presence (output only)
//   -- greedy stops here: argmax --
//   3. temperature: s = (x - max x) / T         (subtracting the max changes nothing downstream)
//   4. min_p: drop p_i < min_p * p_max, i.e. s_i < ln(min_p)
//   5. top_k: drop s_i below the k-th largest s (ties at the boundary kept)
//   6. top_p: over the survivors' renormalized softmax, sorted by descending s, drop every token
//      whose preceding mass is already >= top_p (so at least one token stays; tied tokens are
//      kept or dropped together)
// Steps 4-6 each keep {s >= threshold}, so the survivors are always one threshold set.
// Note: vLLM v0 applied min_p after top-k/top-p; v1 (what vLLM runs today) applies it before.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "core/status.h"
#include "engine/sampling/token_history.h"

namespace xy::sampling {

// Every token not in `allowed` becomes -inf. `allowed` ids are in range (validated). `scratch`
// is reused between calls.
void apply_allowed_tokens(std::span<float> logits, std::span<const int32_t> allowed,
                          std::vector<float>& scratch);

// Structured output: every token whose bit is clear in `mask` (bit t of word t / 32) becomes
// -inf. mask covers the row (checked by the caller).
void apply_token_bitmask(std::span<float> logits, std::span<const uint32_t> mask);

// logits[t] += bias for each entry (ids in range, validated).
void apply_logit_bias(std::span<float> logits, const std::map<int32_t, float>& bias);

// For each token of `history`:
//   if in prompt or generated: x = x > 0 ? x / repetition : x * repetition
//   x -= frequency * output_count;  x -= presence * (output_count > 0)
// A history token outside [0, logits.size()) (e.g. a client-supplied prompt id the server did not
// check) is an error naming it; logits are then partially updated.
Status apply_penalties(std::span<float> logits, const TokenHistory& history, float repetition,
                       float frequency, float presence);

// A survivor of the truncation steps: processed logit s, weight exp(s), token id.
struct ScoredToken {
  float score;
  float weight;
  int32_t token;
};

// Orders by descending score, then ascending token id.
void sort_by_score(std::vector<ScoredToken>& tokens);

// Top-p over tokens sorted by sort_by_score whose weights sum to `total`: the smallest score that
// survives (the first token always survives).
float top_p_cutoff_sorted(std::span<const ScoredToken> sorted, double total, float top_p);

// Top-p over a dense row: scores [vocab] and weights [vocab] (weight 0 = already dropped, which
// must be exactly the entries below any earlier threshold), weights summing to `total`, the
// largest weight being 1. Returns the smallest surviving score. Cost: two passes plus a sort of
// one narrow histogram bin, never a sort of the vocabulary. `scratch` and `indices` are reused
// between calls.
float top_p_cutoff_dense(std::span<const float> scores, std::span<const float> weights,
                         double total, float top_p, std::vector<ScoredToken>& scratch,
                         std::vector<int32_t>& indices);

}  // namespace xy::sampling
