// Knobs of the serving engine (vLLM's engine arguments where the concept matches). The CLI and
// the server fill it from flags; validate() is the one place that decides what is legal.
#pragma once

#include <cstdint>
#include <string>

#include "core/dtype.h"
#include "core/status.h"

namespace xy {

struct EngineConfig {
  // --- KV cache ---
  int block_size = 16;                // tokens per KV block (--block-size)
  DType kv_dtype = DType::kF32;       // --kv-dtype
  bool enable_prefix_caching = true;  // --enable-prefix-caching / --no-enable-prefix-caching
  // Pool size, first match wins: num_kv_blocks > 0 (tests); kv_cache_bytes > 0
  // (--kv-cache-memory BYTES); else kv_cache_fraction of MemAvailable. The pool is never made
  // larger than max_num_seqs full-length sequences need.
  int num_kv_blocks = 0;
  int64_t kv_cache_bytes = 0;
  double kv_cache_fraction = 0.2;  // (0, 1]

  // --- scheduler ---
  // Token budget of one step; 0 = calibrate at start so that a full step fits target_tpot_ms.
  int max_num_batched_tokens = 0;
  int max_num_seqs = 128;            // running requests at most (clamped to the budget)
  double target_tpot_ms = 100.0;     // calibration target (--target-tpot-ms)
  int max_model_len = 0;             // 0 = the model's max_position_embeddings
  bool priority_scheduling = false;  // false: FCFS; true: EngineRequest::priority first

  // --- speculation (used only with a Proposer) ---
  int num_speculative_tokens = 0;  // max drafts per request per step
  // Structured output: text the grammar forces next (jump-forward) is tokenized and verified as
  // drafts, so a step can emit it at once; exact (every kept token is what plain decoding would
  // sample), independent of the proposer. 0 = off.
  int max_grammar_forced_tokens = 16;

  // --- threading ---
  // true: create() starts the loop thread. false: the owner drives the engine with step()
  // (tests that need requests to arrive at chosen steps).
  bool run_loop_thread = true;

  Status validate() const;
};

// The --kv-cache-memory flag: "4GiB", "512MiB", "1.5GB", "1000000" -> bytes; a plain number in
// (0, 1] -> a fraction of available memory. kInvalidArgument naming the text otherwise.
struct MemorySpec {
  int64_t bytes = 0;      // > 0 when an absolute size was given
  double fraction = 0.0;  // > 0 when a fraction was given
};
Result<MemorySpec> parse_memory_spec(const std::string& text);

// MemAvailable from /proc/meminfo in bytes, or 0 when unknown.
int64_t available_memory_bytes();

}  // namespace xy
