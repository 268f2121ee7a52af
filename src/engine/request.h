// What a client asks the engine for, as the scheduler sees it: a tokenized prompt, a length cap
// and a scheduling priority. Sampling parameters and stop conditions live beside it (engine loop,
// sampling/); the scheduler needs none of them.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"

namespace xy {

using SeqId = int64_t;

struct Request {
  SeqId id = 0;                        // unique among live requests; chosen by the caller
  std::vector<int32_t> prompt_tokens;  // [num_prompt_tokens], non-empty
  int max_output_tokens = 16;          // generation stops after this many tokens (>= 1)
  int priority = 0;                    // lower value = more important (vLLM's convention)
  double arrival_time_s = 0.0;         // caller's clock, for metrics only; order comes from add()
  // Prefill/decode disaggregation: tokens already generated elsewhere (appended after the
  // prompt; they count toward max_output_tokens) and how many leading positions have K/V from
  // elsewhere (written by the engine at admission instead of computed). 0 = none.
  std::vector<int32_t> generated_tokens;
  int num_imported_kv_tokens = 0;
};

// Shape checks that need no engine state: non-empty prompt, max_output_tokens >= 1, token ids
// non-negative and below vocab_size (when vocab_size > 0). The message names the request id.
Status validate_request(const Request& request, int vocab_size);

}  // namespace xy
