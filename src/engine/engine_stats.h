// Counters and gauges of the engine for metrics (/metrics of the server, bench reports). A plain
// snapshot: Engine::stats() copies it under a lock, so readers on any thread see a consistent set.
#pragma once

#include <cstdint>

#include "engine/spec/spec_stats.h"

namespace xy {

struct EngineStats {
  // --- counters since start ---
  int64_t num_steps = 0;
  int64_t num_prefill_tokens = 0;  // prompt (and recomputed) tokens run through the model
  int64_t num_decode_tokens = 0;
  int64_t num_verify_tokens = 0;  // rows of verify segments (1 + drafts each)
  int64_t num_generated_tokens = 0;
  int64_t num_prompt_tokens = 0;  // prompt tokens of accepted requests
  int64_t num_requests_finished = 0;
  int64_t num_requests_aborted = 0;
  int64_t num_preemptions = 0;
  int64_t prefix_cache_queries = 0;   // prompt tokens looked up at first admission
  int64_t prefix_cache_hits = 0;      // of which served from the cache
  int64_t num_draft_tokens = 0;       // drafts granted for verification
  int64_t num_accepted_tokens = 0;    // of which accepted
  spec::SpecStats spec;               // the proposer's counters per draft position (if any)
  double total_step_time_s = 0.0;     // forward + sampling, summed
  double total_forward_time_s = 0.0;  // of which model.forward (the rest: engine overhead)

  // --- the last step ---
  double last_step_time_s = 0.0;
  int last_step_prefill_tokens = 0;
  int last_step_decode_tokens = 0;
  int last_step_verify_tokens = 0;

  // --- gauges ---
  int num_running = 0;
  int num_waiting = 0;  // scheduler queue plus requests not yet drained into it
  int num_kv_blocks = 0;
  int num_free_kv_blocks = 0;  // reclaimable: free plus unreferenced cached blocks
  double kv_cache_usage() const {
    return num_kv_blocks == 0 ? 0.0 : 1.0 - static_cast<double>(num_free_kv_blocks) / num_kv_blocks;
  }

  // --- configuration actually used (after calibration and sizing) ---
  int max_num_batched_tokens = 0;
  int max_num_seqs = 0;
  int block_size = 0;
  int max_model_len = 0;
};

}  // namespace xy
