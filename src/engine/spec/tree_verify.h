// Verification of a tree verify segment (drafts with parents, Sequence::set_draft_tree) and the
// KV compaction of the accepted path.
//
// The walk starts at the root (the sequence's last token, segment row 0) and at each node draws
// the target's next token among the node's children:
//   greedy: the target's argmax (Sampler::probs one-hot); if a child carries it, accept the child
//     and continue there, else emit it and stop. Identical to verifying the matching chain.
//   sampling: recursive rejection sampling for deterministic candidates (SpecInfer, Miao et al.
//     2024): with residual r = p (the target distribution at the node), try the children in
//     order: accept child c with probability r(c) / sum(r); on rejection set r(c) = 0 and go on;
//     when all children are rejected, emit a token drawn from r. Each step's output token is
//     distributed exactly as p, so the target distribution is unchanged.
// Target distributions are Sampler::probs with the request's params and the history extended by
// the accepted path (as if generated one by one); the history is restored before returning.
// Randomness (sampling): one uniform per examined child plus one for the emitted token.
//
// KV: tree row i was written at logical slot kv_len + i, but the accepted path must end up at
// kv_len + 1..m before commit() marks those tokens computed (and before the prefix cache may
// share their blocks): compact_accepted_kv moves them. Row indices only grow along a path
// (parents precede children), so moving in depth order never overwrites a later source.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"
#include "engine/sampling/rng.h"
#include "engine/sampling/sampler.h"
#include "engine/sampling/sampling_params.h"
#include "engine/sampling/token_history.h"
#include "model/kv_cache.h"

namespace xy::spec {

struct TreeVerifyOutput {
  int num_accepted = 0;                // accepted drafts (path length below the root)
  std::vector<int32_t> tokens;         // [num_accepted + 1] accepted drafts, then the new token
  std::vector<int32_t> accepted_rows;  // [num_accepted] segment rows (1-based) of the path
};

// logits: [k + 1, vocab] rows of the segment (row 0 = root, row i = draft i - 1); drafts/parents:
// [k] (parents[i] = -1 for a root child, else < i). Errors (as values): size mismatches, draft ids
// outside the vocabulary, sampler errors (e.g. NaN logits).
Result<TreeVerifyOutput> verify_tree(std::span<const float> logits, std::span<const int32_t> drafts,
                                     std::span<const int32_t> parents, int vocab_size,
                                     const SamplingParams& params, TokenHistory& history,
                                     RequestRng& rng, Sampler& sampler);

// Moves K/V (every layer, every KV head) of logical index kv_len + accepted_rows[d] to
// kv_len + 1 + d, for the sequence's block table. Indices must lie inside the block table
// (checked). No-op for a path that is already in place.
void compact_accepted_kv(KvCache& cache, std::span<const int32_t> block_table, int kv_len,
                         std::span<const int32_t> accepted_rows);

}  // namespace xy::spec
