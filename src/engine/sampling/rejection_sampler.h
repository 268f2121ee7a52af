// Speculative-decoding verification: which draft tokens to keep, and the token that follows them.
//
// Sampling mode is the rejection sampling of Leviathan et al. (ICML'23) / Chen et al. (2023),
// which provably leaves the target distribution unchanged: for i = 1..k accept d_i with
// probability min(1, p_i(d_i) / q_i(d_i)); at the first rejection emit a token drawn from
// normalize(max(0, p_i - q_i)) and stop; if all k are accepted, emit a bonus token drawn from
// p_{k+1}. Greedy mode accepts while d_i == argmax p_i (lowest id on ties) and then emits that
// argmax. Either way the result is num_accepted drafts plus exactly one new token.
//
// The p_i are the target's final distributions (Sampler::probs with the request's params and the
// history extended by d_1..d_{i-1}); the q_i are the draft model's, or absent for a deterministic
// proposer (n-gram, lookahead), which is q_i = one-hot(d_i).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"
#include "engine/sampling/rng.h"

namespace xy {

struct DraftProposal {
  std::span<const int32_t> tokens;  // [k] d_1..d_k
  std::span<const float> probs;     // [k, vocab] row-major q_i(.), or empty = deterministic
};

struct VerifyOutput {
  int num_accepted = 0;         // accepted draft tokens, 0..k
  std::vector<int32_t> tokens;  // [num_accepted + 1]: d_1..d_num_accepted, then the new token
};

// target_probs: [k + 1, vocab] row-major, each row a distribution. Randomness (sampling mode):
// one uniform per examined draft position plus one for the emitted token; greedy consumes none.
// Greedy mode ignores draft.probs (only their size is checked). Errors (as values): mismatched
// sizes, a draft token outside [0, vocab), in sampling mode a draft token to which its own q
// gives probability 0 or a target row without positive mass.
Result<VerifyOutput> verify_draft(const DraftProposal& draft, std::span<const float> target_probs,
                                  int vocab_size, bool greedy, RequestRng& rng);

}  // namespace xy
