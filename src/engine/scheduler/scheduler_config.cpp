#include "engine/scheduler/scheduler_config.h"

#include <string>

namespace xy {

Status SchedulerConfig::validate() const {
  if (max_num_batched_tokens < 1) {
    return invalid_argument("max_num_batched_tokens must be >= 1, got " +
                            std::to_string(max_num_batched_tokens));
  }
  if (max_num_seqs < 1 || max_num_seqs > max_num_batched_tokens) {
    return invalid_argument("max_num_seqs must be in [1, max_num_batched_tokens=" +
                            std::to_string(max_num_batched_tokens) + "], got " +
                            std::to_string(max_num_seqs));
  }
  if (!(kv_watermark_fraction >= 0.0 && kv_watermark_fraction < 1.0)) {
    return invalid_argument("kv_watermark_fraction must be in [0, 1), got " +
                            std::to_string(kv_watermark_fraction));
  }
  if (starvation_steps < 1) {
    return invalid_argument("starvation_steps must be >= 1, got " +
                            std::to_string(starvation_steps));
  }
  if (starved_prefill_tokens < 1) {
    return invalid_argument("starved_prefill_tokens must be >= 1, got " +
                            std::to_string(starved_prefill_tokens));
  }
  if (max_model_len < 0) {
    return invalid_argument("max_model_len must be >= 0, got " + std::to_string(max_model_len));
  }
  return Status::ok();
}

}  // namespace xy
