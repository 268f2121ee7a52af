// Turns one scheduled segment's logits into the tokens the request keeps this step:
//   decode / last prefill chunk: one token from Sampler::sample;
//   verify (a chain, or a tree with Sequence::draft_parents): spec::verify_tree samples each row
//   as a plain decode would and keeps drafts while they match the sampled token (greedy: the
//   argmax), which is rejection sampling for deterministic drafts with coupled randomness: the
//   target distribution is unchanged and every token equals the spec-off token for the seed.
// Logprobs (when the request asks) are the raw logits' log_softmax, as Sampler reports them.
//
// Thread: engine thread; holds scratch buffers, so one per engine.
#pragma once

#include <span>
#include <vector>

#include "core/status.h"
#include "engine/output_stream.h"
#include "engine/request_state.h"
#include "engine/sampling/sampler.h"
#include "engine/scheduler/schedule_decision.h"

namespace xy {

struct SegmentTokens {
  std::vector<int32_t> tokens;          // accepted drafts, then the new token
  std::vector<TokenLogprobs> logprobs;  // [tokens.size()] when the request wants them
  int num_drafts = 0;                   // drafts verified (0 unless verify)
  int num_accepted = 0;                 // of which accepted
  // Tree verify only: segment rows of the accepted path, in depth order. Their K/V must move to
  // rows 1..num_accepted (spec::compact_accepted_kv) before commit().
  std::vector<int32_t> accepted_rows;
};

class StepSampler {
 public:
  // logits: [seg.num_logit_rows(), vocab] rows of this segment. Does not touch the request's
  // history (the engine appends accepted tokens afterwards); advances its rng. A constrained
  // request (RequestState::matcher) samples under its grammar's mask and its matcher accepts
  // every returned token.
  Result<SegmentTokens> run(const ScheduledSegment& seg, std::span<const float> logits, int vocab,
                            RequestState& request);

 private:
  Sampler sampler_;
  std::vector<uint32_t> mask_;  // structured output: the allowed tokens of the row
};

// Raw log_softmax logprob, rank and top-n of `token` in one logits row (Sampler's conventions:
// rank counts entries >= the token's logit; top-n best first, ties by lower id).
TokenLogprobs raw_token_logprobs(std::span<const float> row, int32_t token, int top_n);

}  // namespace xy
