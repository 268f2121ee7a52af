// Knobs of the token-wise hybrid scheduler (ARCHITECTURE.md; issue 4 item 3).
#pragma once

#include "core/status.h"

namespace xy {

struct SchedulerConfig {
  // Token budget of one step: decode + verify + prefill-chunk tokens (rows of the Token-Table).
  int max_num_batched_tokens = 512;
  // Running (admitted) sequences at most. <= max_num_batched_tokens, so that one decode token of
  // every running sequence always fits in a step: decodes never wait.
  int max_num_seqs = 64;
  // false: first come, first served. true: Request::priority (lower first), then arrival.
  bool priority_scheduling = false;
  // Fraction of the pool's blocks that must stay reclaimable after an admission while other
  // sequences run, so running decodes rarely have to preempt right after an admission.
  double kv_watermark_fraction = 0.01;
  // Starvation guard. A waiting request that has waited starvation_steps steps is starved: it
  // goes before every non-starved waiting request (whatever its priority), it is admitted before
  // running prefills take their chunks, and verify drafts leave it
  // min(starved_prefill_tokens, budget left after decodes) tokens. Bound: a request is admitted
  // at the latest in the step after it has waited starvation_steps steps (+1 step per starved
  // request ahead of it), provided a seat (max_num_seqs) and blocks for its first chunk plus
  // the watermark are free; seats and blocks come back as running requests finish, which
  // max_output_tokens bounds. Running decodes never wait: every step serves all of them.
  int starvation_steps = 64;
  int starved_prefill_tokens = 64;
  // Longest prompt + max_output_tokens accepted; 0 = limited only by the KV pool.
  int max_model_len = 0;

  Status validate() const;
};

}  // namespace xy
