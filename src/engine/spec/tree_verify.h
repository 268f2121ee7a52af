// Verification of a verify segment — a chain of drafts or a token tree (Sequence::draft_parents)
// — and the KV compaction of a tree's accepted path.
//
// The walk starts at the root (the sequence's last token, segment row 0). At each node it samples
// the target's next token from the node's row exactly as a plain decode step would
// (Sampler::sample with the request's params, the history extended by the accepted path, and the
// request's random stream); if a child of the node carries that token, the child is accepted and
// the walk continues there, else the sampled token is emitted and the walk stops.
//
// This is rejection sampling for deterministic drafts (q = one-hot) with coupled randomness: a
// draft d is accepted with probability p(d) (the mass of its inverse-CDF interval), and on
// rejection the emitted token is distributed as p restricted to the other tokens, which is the
// residual max(0, p - q) normalized; with several children, the accepted-or-emitted token is
// distributed as p. So the target distribution is unchanged, and more: every emitted token is
// the very token plain decoding draws at that position (one draw per emitted token, same
// stream position, same logits by batch invariance), so with the same seed speculation changes
// no output, sampled or greedy. Greedy consumes no randomness.
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

namespace xy::grammar {
class GrammarMatcher;
}

namespace xy::spec {

struct TreeVerifyOutput {
  int num_accepted = 0;                // accepted drafts (path length below the root)
  std::vector<int32_t> tokens;         // [num_accepted + 1] accepted drafts, then the new token
  std::vector<int32_t> accepted_rows;  // [num_accepted] segment rows (1-based) of the path
  std::vector<SampleOutput> samples;   // [num_accepted + 1] as Sampler::sample returned them
};

// logits: [k + 1, vocab] rows of the segment (row 0 = root, row i = draft i - 1); drafts: [k];
// parents: [k] (parents[i] = -1 for a root child, else < i), or empty for a chain. Errors (as
// values): size mismatches, draft ids outside the vocabulary, sampler errors (e.g. NaN logits).
// matcher (structured output, may be null): each visited node samples under the grammar's mask
// at that node, exactly as a plain constrained decode would, so a draft the grammar rejects is
// never accepted; every emitted token is accepted into the matcher (on error it is rolled back).
Result<TreeVerifyOutput> verify_tree(std::span<const float> logits, std::span<const int32_t> drafts,
                                     std::span<const int32_t> parents, int vocab_size,
                                     const SamplingParams& params, TokenHistory& history,
                                     RequestRng& rng, Sampler& sampler,
                                     grammar::GrammarMatcher* matcher = nullptr);

// Moves K/V (every layer, every KV head) of logical index kv_len + accepted_rows[d] to
// kv_len + 1 + d, for the sequence's block table. Indices must lie inside the block table
// (checked). No-op for a path that is already in place.
void compact_accepted_kv(KvCache& cache, std::span<const int32_t> block_table, int kv_len,
                         std::span<const int32_t> accepted_rows);

}  // namespace xy::spec
