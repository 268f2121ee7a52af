// The default token budget (--max-num-batched-tokens) from a short calibration against the target
// time per output token (--target-tpot-ms).
//
// Derivation: every running request gets exactly one decode (or verify) segment per step, so the
// time between two of its tokens is the duration of a whole step, whatever else the step holds.
// The scheduler fills steps up to the budget with prefill chunks, so under load a step runs
// about `budget` tokens; keeping TPOT <= target therefore means step_time(budget) <= target.
// step_time(n) is measured for growing n (prefill rows at empty context, the dominant GEMM cost;
// attention over long contexts adds to it, so the target is met with a margin only for short
// contexts) and the largest n that fits is interpolated linearly between the last size that
// fits and the first that does not.
#pragma once

#include "core/status.h"
#include "model/kv_cache.h"
#include "model/model.h"

namespace xy {

struct BudgetCalibration {
  int budget = 0;         // tokens per step
  double step_ms = 0.0;   // measured (or interpolated) step time at that budget
  double spent_ms = 0.0;  // wall time of the calibration
};

// Runs forward steps of 16, 32, 64, ... rows (at most max_tokens, at most the cache's slots)
// over blocks 0.. of `cache` (their contents are garbage afterwards: call before any request)
// until one exceeds target_ms or the calibration has spent time_limit_ms. The result is at least
// min_tokens and at most max_tokens.
Result<BudgetCalibration> calibrate_token_budget(const Model& model, KvCache& cache,
                                                 ForwardScratch& scratch, double target_ms,
                                                 int min_tokens, int max_tokens,
                                                 double time_limit_ms = 1500.0);

}  // namespace xy
